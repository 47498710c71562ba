from types import SimpleNamespace

import pytest

from returns import services
from returns.choices import ReviewMode
from returns.tests.journeys import drive
from tests import factories


@pytest.fixture
def people(customer, other_customer, reviewer, warehouse):
    return SimpleNamespace(customer=customer, other_customer=other_customer, reviewer=reviewer, warehouse=warehouse)


@pytest.fixture
def manual_review(shop):
    """Every new return waits for a reviewer (the ADR's behaviour), so journeys start at `requested`."""
    return factories.policy(None, review_mode=ReviewMode.MANUAL)


@pytest.fixture
def return_in(order, people, manual_review, django_capture_on_commit_callbacks):
    """A return of one shirt from `order`, brought to the given state through the services."""

    def make(state: str):
        shirt_line = order.lines.get(product__sku="shirt-blue-m")
        rr = services.return_request_create(by=people.customer, order_id=order.pk,
                                            lines=[factories.line_request(shirt_line, 1)])
        return drive(rr, state, people=people, capture_on_commit=django_capture_on_commit_callbacks)

    return make
