"""The partners' helper, run as partners would run it: a copy of one file, standard library only,
checking deliveries our sender really made."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from partners import verify

pytestmark = pytest.mark.django_db

HELPER = Path(verify.__file__)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"

# Runs the copied file with an isolated interpreter (no site-packages, no project on the path),
# reading the secret, header and body of a delivery from stdin.
PARTNER_SIDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from verify import verify_signature
case = json.load(sys.stdin)
print(verify_signature(case["secret"], case["header"], case["body"].encode("latin-1"), **case.get("options", {})))
"""


def _partner_verifies(tmp_path, secret, header, body: bytes, **options) -> bool:
    (tmp_path / "verify.py").write_text(HELPER.read_text())
    case = {"secret": secret, "header": header, "body": body.decode("latin-1"), "options": options}
    run = subprocess.run([sys.executable, "-I", "-S", "-c", PARTNER_SIDE, str(tmp_path)], input=json.dumps(case),
                         capture_output=True, text=True, timeout=30, check=True)
    return run.stdout.strip() == "True"


@pytest.fixture
def delivered(endpoint, subscribe, shop, django_capture_on_commit_callbacks):
    """One event our sender signed and POSTed to a real local endpoint, as that endpoint got it."""
    from partners.services import webhook_event_emit

    subscription = subscribe(["return.refunded"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_emit(event_type="return.refunded", channel_id=shop.channel.pk,
                           data={"rma_number": "RMA-TEST-0001", "status": "refunded"})
    [received] = endpoint.received
    return subscription.secret, received.headers["X-Returns-Signature"], received.body


def test_a_real_delivery_verifies_with_the_copied_file_and_the_standard_library_alone(tmp_path, delivered):
    secret, header, body = delivered
    assert _partner_verifies(tmp_path, secret, header, body)
    assert not _partner_verifies(tmp_path, "whsec_not-the-secret", header, body)
    assert not _partner_verifies(tmp_path, secret, header, body.replace(b"refunded", b"rejected"))
    assert not _partner_verifies(tmp_path, secret, header, json.dumps(json.loads(body), indent=2).encode())


def test_a_real_delivery_replayed_after_the_tolerance_is_refused(delivered):
    secret, header, body = delivered
    sent_at = int(re.match(r"t=(\d+),", header).group(1))
    assert verify.verify_signature(secret, header, body, now=sent_at + 299)
    assert not verify.verify_signature(secret, header, body, now=sent_at + 301)
    assert not verify.verify_signature(secret, header, body, now=sent_at - 301)  # a clock far behind
    assert verify.verify_signature(secret, header, body, tolerance_seconds=3600, now=time.time() + 3000)


def test_the_helper_needs_nothing_but_the_standard_library():
    imported = set(re.findall(r"^(?:import|from) (\w+)", HELPER.read_text(), flags=re.M))
    assert imported <= set(sys.stdlib_module_names)


def test_the_docs_show_the_helper_as_it_ships():
    shown = re.search(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S).group(1)
    assert shown.strip() == HELPER.read_text().strip()
