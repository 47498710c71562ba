"""Payment gateway adapters. The one in use is named by settings.REFUNDS["GATEWAY"]."""

from django.conf import settings
from django.utils.module_loading import import_string

from refunds.gateways.base import (
    GatewayCharge,
    GatewayDeclined,
    GatewayError,
    GatewayRefund,
    GatewayTimeout,
    GatewayUnavailable,
    PaymentGateway,
)


def get_gateway() -> PaymentGateway:
    return import_string(settings.REFUNDS["GATEWAY"])(**settings.REFUNDS["GATEWAY_OPTIONS"])


__all__ = ["GatewayCharge", "GatewayDeclined", "GatewayError", "GatewayRefund", "GatewayTimeout", "GatewayUnavailable",
           "PaymentGateway", "get_gateway"]
