"""The one way a stateful model changes state: a django-fsm transition plus an audit row."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext
from django_fsm import can_proceed, has_transition_perm

from core.actors import history_user
from core.errors import InvalidTransition, PermissionDenied


def apply_transition(instance, transition: str, *, by, reason: str = "", also: tuple[str, ...] = (),
                     **kwargs) -> None:
    """Run `transition` on a locked `instance`, check `by` may do it, save with history.

    `by=None` is the system itself (tasks, automatic decisions); a user must hold the
    transition's permission (django-fsm's admin does not check it, so we do here). `also` names
    the other changes made to `instance` since its last save: they are saved in this write, and
    its history row names them after the reason.
    """
    method = getattr(instance, transition)
    label = type(instance)._meta.verbose_name
    current = getattr(instance, "status", "?")
    if by is not None and isinstance(by, AnonymousUser):
        raise PermissionDenied(gettext("Log in first."))
    # Permission first, so a caller who may never do this learns nothing about the state.
    if by is not None and not _may_ever(method, instance, by):
        raise PermissionDenied(f"You may not {transition.replace('_', ' ')} this {label}.")
    if not can_proceed(method):
        raise InvalidTransition(
            f"Cannot {transition.replace('_', ' ')} a {label} that is {current}.",
            code=f"{type(instance).__name__.lower()}_cannot_{transition}",
        )
    if by is not None and not has_transition_perm(method, by):
        raise PermissionDenied(f"You may not {transition.replace('_', ' ')} this {label}.")
    # Who and why, for the post_transition receivers (audit log, notifications).
    instance._transition_by, instance._transition_reason = by, reason
    method(**kwargs)
    reason = reason or transition
    save_with_history(instance, by=by, reason="; ".join([reason.rstrip("."), *also]) if also else reason)


def allowed_transitions(instance, user, *, field: str = "status") -> list[str]:
    """The transitions `user` may make on `instance` now: the state allows them, their
    conditions hold and the user holds their permission. What a screen offers; the services
    still check when one is made."""
    available = getattr(instance, f"get_available_user_{field}_transitions")(user)
    return [transition.name for transition in available]


def _may_ever(method, instance, user) -> bool:
    """Whether `user` holds the transition's permission from any of its source states."""
    return any(t.has_perm(instance, user) for t in method._django_fsm.transitions.values())


# simple-history keeps a change's reason in a CharField of this length.
CHANGE_REASON_MAX_LENGTH = 100


def save_with_history(instance, *, by, reason: str) -> None:
    instance._history_user = history_user(by)
    if len(reason) > CHANGE_REASON_MAX_LENGTH:  # a long reason is cut, never a failed save
        reason = reason[:CHANGE_REASON_MAX_LENGTH - 1] + "…"
    instance._change_reason = reason
    # full_clean() would re-assign a protected state field, which django-fsm forbids;
    # the state only ever changes through a transition, so it needs no cleaning.
    protected = [f.name for f in instance._meta.concrete_fields if getattr(f, "protected", False)]
    # A saved row's foreign keys, and a new row's that point at rows this instance holds loaded,
    # are checked by PostgreSQL's constraints; checking them again here would cost a query per key
    # (full_clean looks each one up).
    references = [f.name for f in instance._meta.concrete_fields
                  if f.is_relation and (not instance._state.adding or _holds_loaded(instance, f))]
    instance.full_clean(exclude=[*protected, *references], validate_unique=False, validate_constraints=False)
    instance.save()


def _holds_loaded(instance, field) -> bool:
    """`instance` holds the row its foreign key `field` points at, as read from the database."""
    if not field.is_cached(instance):
        return False
    related = field.get_cached_value(instance)
    return related is not None and not related._state.adding and related.pk == getattr(instance, field.attname)
