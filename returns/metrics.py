"""Prometheus metrics of returns. Updated from the post_transition receiver (returns/receivers.py)
once the change is committed; the review queue is read at scrape time."""

import logging
import time

from django.db import DatabaseError
from django.db.models import Count, Min
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

RMA_REQUESTS = Counter("rma_requests_total", "Returns that reached each status (requested, authorized, …)",
                       ["status"])
# The ADR's buckets: a minute, an hour, a day, a week.
RMA_PROCESSING_DURATION = Histogram("rma_processing_duration_seconds",
                                    "From a return's request to its resolution (refunded, or closed with nothing owed)",
                                    buckets=(60.0, 3600.0, 86400.0, 604800.0))


class ReviewQueueCollector:
    """Size and age of the review queue, from one indexed query per scrape (never stored, so it is
    the same whichever process answers the scrape)."""

    def describe(self):
        return list(self._families())

    def collect(self):
        from returns import selectors

        try:
            stats = selectors.review_queue().aggregate(size=Count("pk"), oldest=Min("requested_at"))
        except DatabaseError:
            logger.warning("review queue not measured: the database did not answer", exc_info=True)
            return
        age = time.time() - stats["oldest"].timestamp() if stats["oldest"] else 0.0
        yield from self._families(size=stats["size"], age=age)

    @staticmethod
    def _families(size=None, age=None):
        size_family = GaugeMetricFamily("rma_review_queue_size", "Returns waiting for a reviewer")
        age_family = GaugeMetricFamily("rma_review_queue_oldest_age_seconds",
                                       "How long the oldest return in the review queue has waited")
        if size is not None:
            size_family.add_metric([], size)
            age_family.add_metric([], age)
        return size_family, age_family


REVIEW_QUEUE = ReviewQueueCollector()
