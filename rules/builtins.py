"""The built-in rules: the foundation's eligibility and review checks (returns.policies), listed
as the engine shows them. They run in every version, before and beside the merchant's rules, and
cannot be edited; merchant outcomes feed them (a window change, only exchange or store credit)."""

import re
from dataclasses import dataclass
from inspect import getsource

from returns import policies


@dataclass(frozen=True)
class BuiltinRule:
    stage: str
    name: str
    description: str
    codes: tuple[str, ...]


def catalogue() -> list[BuiltinRule]:
    stages = (("request", policies.REQUEST_RULES), ("line", policies.LINE_RULES), ("review", policies.REVIEW_RULES))
    return [BuiltinRule(stage, rule.__name__, _first_line(rule), _codes(rule))
            for stage, rules in stages for rule in rules]


def _first_line(rule) -> str:
    doc = (rule.__doc__ or "").strip().splitlines()
    return doc[0] if doc else rule.__name__.replace("_", " ").capitalize()


def _codes(rule) -> tuple[str, ...]:
    """The stable codes a rule answers with, read from its source (each is a literal)."""
    return tuple(dict.fromkeys(re.findall(r'Verdict\.(?:deny|review)\(\s*"([a-z_]+)"', getsource(rule))))
