"""No secret reaches a log line: `RedactSecretsFilter`, installed on the log handler after the
context filter, rewrites every record before it is formatted.

It masks values under names that say they are secret (`password`, `api_key`, `secret`,
`authorization`, …) in `extra=` fields, and values that look like credentials wherever they
appear — in the message, its arguments, the fields, and the text of an exception: API keys
(`prefix.secret`), `Authorization` schemes (`Api-Key`, `Token`, `Bearer`, `Basic`), webhook
secrets (`whsec_…`), webhook signatures (`v1=<hex>`), gateway keys (`sk_live_…`), `password=…`
and `"password": "…"` pairs, and the user:password part of a URL.
"""

import logging
import re
import traceback

MASK = "[redacted]"

_SECRET_NAME = re.compile(
    r"(?i)^(?:.*_)?(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api_?key"
    r"|authorization|auth_header|signature|cookie|sessionid|csrfmiddlewaretoken|credentials?)$")

_NAMES = (r"password|passwd|pwd|secret|client_secret|api_?key|access_token|refresh_token|token"
          r"|csrfmiddlewaretoken|sessionid|signature")
_PATTERNS = [
    # Authorization: <scheme> <credentials>, in a header dump or a repr
    (re.compile(r"(?i)\b(authorization|x-api-key|cookie)(['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+"), rf"\1\2{MASK}"),
    (re.compile(r"\b(Api-Key|Token|Bearer|Basic|api-key|token|bearer|basic)(\s+)(?=[A-Za-z0-9._~+/=\-]*\d)"
                r"[A-Za-z0-9._~+/=\-]{8,}"), rf"\1\2{MASK}"),
    # name=value and "name": "value"
    (re.compile(rf"(?i)\b({_NAMES})(['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,;}}]+"), rf"\1\2{MASK}"),
    (re.compile(r"whsec_[A-Za-z0-9_\-]+"), f"whsec_{MASK}"),
    (re.compile(r"\bv1=[0-9a-fA-F]{16,}"), f"v1={MASK}"),
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+"), rf"\1_\2_{MASK}"),
    # a partner API key: an 8-character prefix, a dot, a 32-character secret
    (re.compile(r"\b[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}\b"), MASK),
    # https://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{MASK}@"),
]


def redact(text: str) -> str:
    """`text` with everything that looks like a credential masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value, depth: int = 0):
    if depth > 4:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", errors="replace"))
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and _SECRET_NAME.match(key) else _redact_value(item, depth + 1)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(item, depth + 1) for item in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is written as its str() (a request shows its path and query string).
    text = str(value)
    masked = redact(text)
    return value if masked == text else masked


# What LogRecord sets itself; everything else on a record came from `extra=` or a filter.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactSecretsFilter(logging.Filter):
    """Masks credentials in the message, the extra fields and the exception of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), ()
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRIBUTES:
                continue
            record.__dict__[name] = MASK if _SECRET_NAME.match(name) else _redact_value(value)
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
