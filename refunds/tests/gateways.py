"""Gateway adapters that fail the way processes do, for tests."""

import threading

from refunds.gateways.sandbox import SandboxGateway


class DiesAfterRefundGateway(SandboxGateway):
    """The gateway makes the refund, then the worker dies before it hears back."""

    def refund(self, **kwargs):
        super().refund(**kwargs)
        raise SystemExit("worker killed")


class CountsCallsInFlight(SandboxGateway):
    """Answers after `latency_ms`, counting the calls it is answering at once."""

    lock = threading.Lock()
    in_flight = 0
    most_in_flight = 0

    @classmethod
    def reset(cls) -> None:
        super().reset()
        cls.in_flight = cls.most_in_flight = 0

    def refund(self, **kwargs):
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        try:
            return super().refund(**kwargs)
        finally:
            with cls.lock:
                cls.in_flight -= 1
