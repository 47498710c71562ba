"""Gateway adapters that fail the way networks and processes do. Configured through
REFUNDS["GATEWAY"], so the code under test is never patched."""

import time

from refunds.gateways.sandbox import SandboxGateway
from tests.resilience.faults import backend_pid, terminate


class DatabaseLostBeforeTheAnswer(SandboxGateway):
    """The worker's database session drops while it waits for the gateway, which never gets the
    request through (the sandbox keeps its books over that same session)."""

    def refund(self, **kwargs):
        terminate(backend_pid())
        return super().refund(**kwargs)


class DatabaseLostAfterTheAnswer(SandboxGateway):
    """The gateway pays; the worker's database session drops before it can record the answer."""

    def refund(self, **kwargs):
        answer = super().refund(**kwargs)
        terminate(backend_pid())
        return answer


class SlowToAnswer(SandboxGateway):
    """Makes the refund at once, then takes `latency_ms` to say so: a worker that dies meanwhile
    never hears that the money went out."""

    def __init__(self, *, latency_ms: int = 0, **options):
        super().__init__(**options)
        self.answer_after = latency_ms / 1000

    def refund(self, **kwargs):
        answer = super().refund(**kwargs)
        time.sleep(self.answer_after)
        return answer
