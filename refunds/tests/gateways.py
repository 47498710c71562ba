"""Gateway adapters that fail the way processes do, for tests."""

from refunds.gateways.sandbox import SandboxGateway


class DiesAfterRefundGateway(SandboxGateway):
    """The gateway makes the refund, then the worker dies before it hears back."""

    def refund(self, **kwargs):
        super().refund(**kwargs)
        raise SystemExit("worker killed")
