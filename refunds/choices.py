from django.db import models
from django.utils.translation import gettext_lazy as _


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    FALLBACK = "fallback", _("Paid another way")
    WRITTEN_OFF = "written_off", _("Written off")


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
    GATEWAY_CHARGE = "gateway_charge", "Collected through the gateway"
    EXCHANGE_SETTLED = "exchange_settled", "Exchange settled, nothing to pay"
    GOODWILL_GRANTED = "goodwill_granted", "Goodwill granted"
    GIFT_CARD_ISSUED = "gift_card_issued", "Gift card issued"
    COLLECTION_SETTLED = "collection_settled", "Collected another way"
    COLLECTION_WRITTEN_OFF = "collection_written_off", "Collection written off"
    EARLY_REFUND_UNEARNED = "early_refund_unearned", "Early refund not earned: receivable"
    EARLY_REFUND_REPAID = "early_refund_repaid", "Early refund paid back by the customer"
    EARLY_REFUND_WRITTEN_OFF = "early_refund_written_off", "Early refund written off"
    CREDIT_SPENT = "credit_spent", "Gift card or store credit spent at the storefront"
    CREDIT_SPENDING_REVERSED = "credit_spending_reversed", "Spending of a gift card or store credit reversed"


class GatewayOperation(models.TextChoices):
    """Which way money moves through the gateway: back to the customer, or from them."""

    REFUND = "refund", "Refund"
    CHARGE = "charge", "Charge"


class CollectionSettlement(models.TextChoices):
    """How finance settles a collection the gateway could not make (the card keeps declining)."""

    STORE_CREDIT = "store_credit", "Deducted from the customer's store credit"
    OTHER_MEANS = "other_means", "Paid by other means"
    WRITTEN_OFF = "written_off", "Written off"


class RecoveryCause(models.TextChoices):
    """Why an early refund was not earned."""

    NOT_SCANNED = "not_scanned", "Parcel not scanned by the deadline"
    NOT_RECEIVED = "not_received", "Parcel not received by the deadline"
    INSPECTION_FAILED = "inspection_failed", "Goods failed inspection"


class RecoveryStatus(models.TextChoices):
    OPEN = "open", "Open: the customer owes it"
    REPAID = "repaid", "Paid back by the customer"
    WRITTEN_OFF = "written_off", "Written off"
