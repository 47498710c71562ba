"""How failed logins are filed for lockouts (django-axes)."""

from django.contrib.auth import get_user_model


def lockout_username(request, credentials=None):
    """The username a failed login is counted under: what was typed, cut to the longest a user name
    can be. A longer one names no user, and would not fit the attempt's column (the token login
    does not bound its username field, so it reached the database as a 500)."""
    username = (credentials or {}).get("username")
    if username is None and not credentials:
        username = getattr(request, "data", request.POST).get("username")
    longest = get_user_model()._meta.get_field("username").max_length
    return username[:longest] if isinstance(username, str) else username
