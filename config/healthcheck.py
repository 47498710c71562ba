"""The container's health check: `python -m config.healthcheck` exits 0 when /healthz answers 200.

It calls the web process on the loopback as the proxy would: with a Host the settings allow (the
first of DJANGO_ALLOWED_HOSTS) and `X-Forwarded-Proto: https`, so that neither the host check nor
the HTTPS redirect turns it away. HEALTHCHECK_URL overrides the address.
"""

import os
import sys
import urllib.error
import urllib.request


def allowed_host() -> str:
    first = (os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0] or "localhost").strip()
    host = first.lstrip("*").lstrip(".")
    return host or "localhost"


def main() -> int:
    url = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000/healthz")
    request = urllib.request.Request(url, headers={"Host": allowed_host(), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
