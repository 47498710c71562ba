"""Every dependency is pinned: each requirement with `==`, and constraints.txt pins the whole
transitive set at the versions installed, so two installs of the same commit are the same."""

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*)(\[[A-Za-z0-9,._\-]+\])?==(?P<version>[A-Za-z0-9.+!\-]+)$")


def _lines(name: str) -> list[str]:
    lines = []
    for raw in (REQUIREMENTS / name).read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _pins(name: str) -> dict[str, str]:
    return {canonicalize_name(PIN.match(line)["name"]): PIN.match(line)["version"]
            for line in _lines(name) if PIN.match(line)}


@pytest.mark.parametrize("name", sorted(p.name for p in REQUIREMENTS.glob("*.txt")))
def test_every_requirement_is_pinned_exactly(name):
    loose = [line for line in _lines(name) if not PIN.match(line) and not re.match(r"^-[rc] [\w./\-]+\.txt$", line)]
    assert not loose, f"{name}: not pinned with ==: {loose}"


def _direct() -> set[str]:
    return set(_pins("base.txt")) | set(_pins("dev.txt"))


def _closure(names: set[str]) -> set[str]:
    """The requirements' installed distributions and everything they need, markers evaluated."""
    environment, seen, todo = default_environment(), set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        extras = {"binary"} if name == "psycopg" else set()  # psycopg[binary] in base.txt
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or any(
                    requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def test_constraints_pin_the_whole_transitive_set_at_the_installed_versions():
    constraints = _pins("constraints.txt")
    needed = _closure(_direct())
    missing = sorted(needed - set(constraints))
    assert not missing, f"not in constraints.txt: {missing}"
    drift = {name: (constraints[name], metadata.version(name)) for name in needed
             if metadata.version(name) != constraints[name]}
    assert not drift, f"constraints.txt pins other versions than installed (pinned, installed): {drift}"


def test_direct_requirements_agree_with_constraints():
    constraints = _pins("constraints.txt")
    for name in ("base.txt", "dev.txt"):
        disagree = {dep: (version, constraints.get(dep)) for dep, version in _pins(name).items()
                    if constraints.get(dep) != version}
        assert not disagree, f"{name} and constraints.txt disagree: {disagree}"
