"""What PostgreSQL cannot store, found before it is sent: a NUL character (refused in text and
jsonb alike) or a lone UTF-16 surrogate (not encodable as UTF-8), anywhere in a JSON value."""


def unstorable_text(value, depth: int = 0) -> str | None:
    """Why `value` (a JSON-like structure) cannot be stored, or None when it can."""
    if depth > 200:
        return "The value is nested too deeply."
    if isinstance(value, str):
        if "\x00" in value:
            return "Text may not contain NUL characters (\\u0000)."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Text must be valid Unicode (a lone surrogate such as \\ud800 is not)."
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        return None
    for item in items:
        problem = unstorable_text(item, depth + 1)
        if problem:
            return problem
    return None
