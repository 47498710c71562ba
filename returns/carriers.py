"""Carrier adapters issue return labels. The adapter is chosen by the RETURNS_CARRIER setting."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str


class CarrierUnavailable(Exception):
    """The carrier did not answer; the label is retried in the background."""


class SandboxCarrier:
    """Issues labels with realistic tracking numbers and no network calls."""

    name = "sandbox-post"

    def create_label(self, *, rma_number: str) -> Label:
        return Label(carrier=self.name, tracking_number="1Z" + secrets.token_hex(8).upper())


def get_carrier():
    return import_string(settings.RETURNS.get("CARRIER", "returns.carriers.SandboxCarrier"))()
