import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture
def gateway():
    """Swap the payment gateway adapter for the block: `with gateway("tests.resilience.gateways.X"): ...`."""

    def use(path: str, **options):
        return override_settings(REFUNDS={**settings.REFUNDS, "GATEWAY": path,
                                          "GATEWAY_OPTIONS": {**settings.REFUNDS["GATEWAY_OPTIONS"], **options}})

    return use


@pytest.fixture
def refunds_settings():
    """Override REFUNDS settings for the block: `with refunds_settings(MAX_ATTEMPTS=3): ...`."""

    def use(**overrides):
        return override_settings(REFUNDS={**settings.REFUNDS, **overrides})

    return use
