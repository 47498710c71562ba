"""Carrier adapters register returns. The adapter is chosen by the RETURNS_CARRIER setting.

Each return method has its mode (`returns.methods.CARRIER_MODE`): `label` asks for a printable
label, `qr` registers a box-free drop-off (the counter prints the label and packs the item);
own shipping asks the carrier for nothing.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

MODES = ("label", "qr")


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str
    mode: str = "label"


class CarrierUnavailable(Exception):
    """The carrier did not answer; the label is retried in the background."""


class SandboxCarrier:
    """Issues labels and drop-off registrations with realistic tracking numbers and no network calls."""

    name = "sandbox-post"

    def create_label(self, *, rma_number: str, mode: str = "label") -> Label:
        if mode not in MODES:
            raise ValueError(f"Unknown carrier mode {mode!r}")
        # Drop-offs get their own number range, as counter networks (e.g. Happy Returns) do.
        prefix = "1Z" if mode == "label" else "DO"
        return Label(carrier=self.name, tracking_number=prefix + secrets.token_hex(8).upper(), mode=mode)


def get_carrier():
    return import_string(settings.RETURNS.get("CARRIER", "returns.carriers.SandboxCarrier"))()
