"""Fixtures shared by every app's tests: a small shop, its people and their roles."""

import pytest

from tests import factories


def pytest_collection_modifyitems(items):
    """`make test` spreads tests over processes (pytest-xdist, --dist loadgroup). Each process has a
    test database of its own, but the test Redis server is one: the tests that use it run in one
    process, one after another, so that one's FLUSHDB never pulls a queue from under another."""
    for item in items:
        if item.get_closest_marker("worker") or item.get_closest_marker("redis"):
            item.add_marker(pytest.mark.xdist_group("redis"))


@pytest.fixture
def shop(db):
    return factories.Shop.create()


@pytest.fixture
def customer(db):
    return factories.UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def other_customer(db):
    return factories.UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def reviewer(db):
    return factories.staff_user("Support agent", username="agent")


@pytest.fixture
def supervisor(db):
    return factories.staff_user("Supervisor", username="supervisor")


@pytest.fixture
def warehouse(db):
    return factories.staff_user("Warehouse", username="warehouse")


@pytest.fixture
def finance(db):
    return factories.staff_user("Finance", username="finance")


@pytest.fixture
def order(shop, customer):
    """A delivered order of two lines: 2 shirts at 25.00 + 2.00 tax, 1 jacket at 120.00 + 12.00 tax."""
    return factories.make_order(customer=customer, lines=[
        (shop.shirt, 2, "25.00", "2.00"),
        (shop.jacket, 1, "120.00", "12.00"),
    ])


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle budgets live in the cache; each test starts with a full one."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _sandbox_gateway_clean():
    from refunds.gateways.sandbox import SandboxGateway

    SandboxGateway.reset()
    yield
    SandboxGateway.reset()


@pytest.fixture(autouse=True)
def _default_language():
    """A request through the test client leaves its language active in the thread (LocaleMiddleware
    activates it and nothing deactivates it); each test starts in the default language, wherever
    test processes happen to place it."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
