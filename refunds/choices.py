from django.db import models


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    FALLBACK = "fallback", "Paid another way"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    TRANSIENT_ERROR = "transient_error", "Transient error"
    TIMEOUT = "timeout", "Timed out"
    DECLINED = "declined", "Declined"


class AccountKind(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"
    CONTRA_REVENUE = "contra_revenue", "Contra-revenue"


class EntryKind(models.TextChoices):
    REFUND_APPROVED = "refund_approved", "Refund approved"
    GATEWAY_REFUND = "gateway_refund", "Refunded through the gateway"
    STORE_CREDIT_ISSUED = "store_credit_issued", "Store credit issued"
    CHEQUE_ISSUED = "cheque_issued", "Cheque issued"
    WRITE_OFF = "write_off", "Inventory write-off"
    REVERSAL = "reversal", "Reversal"
