from django.db import models

from notifications.choices import NotificationEvent, NotificationStatus


class Notification(models.Model):
    """One customer e-mail about one event of one return: the outbox row.

    It is written in the transaction that changes the return's state, so it exists exactly when
    the change does, and at most once per (return, event) — the unique constraint. The task that
    sends it locks the row and sends only while it is pending, so running twice sends once.
    """

    return_request = models.ForeignKey("returns.ReturnRequest", on_delete=models.PROTECT,
                                       related_name="notifications")
    event = models.CharField(max_length=30, choices=NotificationEvent.choices)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    recipient = models.EmailField(blank=True)
    subject = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    skipped_reason = models.CharField(max_length=200, blank=True)
    trace_context = models.JSONField(default=dict, blank=True, help_text="The trace of the change that caused it.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "event"], name="notification_once_per_return_event"),
        ]
        indexes = [
            # The sweeper's read: pending rows, oldest first.
            models.Index(fields=["created_at"], condition=models.Q(status=NotificationStatus.PENDING),
                         name="notification_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} for return {self.return_request_id}"
