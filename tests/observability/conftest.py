"""Spans recorded in memory while a test asks for them (the `spans` fixture), read with helpers."""

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _WhileOn(SimpleSpanProcessor):
    """Exports ended spans only while a test listens, so other tests pay nothing."""

    on = False

    def on_end(self, span) -> None:
        if self.on:
            super().on_end(span)


@pytest.fixture(scope="session")
def _span_sink():
    from config.observability import tracer_provider

    exporter = InMemorySpanExporter()
    processor = _WhileOn(exporter)
    tracer_provider().add_span_processor(processor)
    return processor, exporter


class Spans:
    def __init__(self, exporter):
        self._exporter = exporter

    def all(self):
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> list:
        return [span for span in self.all() if span.name == name]

    def one(self, name: str):
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name}: {[s.name for s in self.all()]}"
        return found[0]

    def parent_of(self, span):
        if span.parent is None:
            return None
        return next((s for s in self.all() if s.context.span_id == span.parent.span_id), None)

    def ancestors(self, span) -> list:
        chain = []
        while (span := self.parent_of(span)) is not None:
            chain.append(span)
        return chain


@pytest.fixture
def spans(_span_sink):
    processor, exporter = _span_sink
    exporter.clear()
    processor.on = True
    yield Spans(exporter)
    processor.on = False
    exporter.clear()
