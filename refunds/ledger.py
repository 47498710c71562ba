"""Double-entry postings. Every money movement of a refund is one balanced journal entry.

Debits are positive, credits negative. PostgreSQL refuses an unbalanced entry at commit and
any UPDATE or DELETE of a posted line; a correction is a new entry.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from refunds.choices import AccountKind, EntryKind
from refunds.models import Account, JournalEntry, JournalLine

SALES_RETURNS = "sales_returns"
REFUNDS_PAYABLE = "refunds_payable"
GATEWAY_CLEARING = "gateway_clearing"
RESTOCKING_FEE_INCOME = "restocking_fee_income"
STORE_CREDIT_BONUS_EXPENSE = "store_credit_bonus_expense"
CHEQUES_ISSUED = "cheques_issued"
INVENTORY_WRITE_OFF = "inventory_write_off"
RETURNED_INVENTORY = "returned_inventory"
VENDOR_CLAIMS = "vendor_claims_receivable"

CHART = {
    SALES_RETURNS: ("Sales returns (contra-revenue)", AccountKind.CONTRA_REVENUE),
    REFUNDS_PAYABLE: ("Refunds payable", AccountKind.LIABILITY),
    GATEWAY_CLEARING: ("Payment gateway clearing", AccountKind.ASSET),
    RESTOCKING_FEE_INCOME: ("Restocking fee income", AccountKind.INCOME),
    STORE_CREDIT_BONUS_EXPENSE: ("Store-credit bonus expense", AccountKind.EXPENSE),
    CHEQUES_ISSUED: ("Cheques issued (bank)", AccountKind.ASSET),
    INVENTORY_WRITE_OFF: ("Inventory write-off", AccountKind.EXPENSE),
    RETURNED_INVENTORY: ("Returned inventory", AccountKind.ASSET),
    VENDOR_CLAIMS: ("Vendor claims receivable", AccountKind.ASSET),
}


def account(code: str) -> Account:
    name, kind = CHART[code]
    found, _ = Account.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})
    return found


def store_credit_account(customer) -> Account:
    found, _ = Account.objects.get_or_create(
        code=f"store_credit:{customer.pk}",
        defaults={"name": f"Store credit of {customer.get_username()}", "kind": AccountKind.LIABILITY,
                  "customer": customer},
    )
    return found


def post(*, kind: str, reference: str, currency: str, lines: list[tuple[Account, Decimal]], refund=None,
         return_request=None, memo: str = "") -> JournalEntry:
    """Post one entry; posting the same (kind, reference) twice returns the first entry."""
    existing = JournalEntry.objects.filter(kind=kind, reference=reference).first()
    if existing:
        return existing
    lines = [(acc, amount) for acc, amount in lines if amount]
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(kind=kind, reference=reference, refund=refund,
                                                return_request=return_request, memo=memo[:300])
            JournalLine.objects.bulk_create(
                [JournalLine(entry=entry, account=acc, amount=amount, currency=currency) for acc, amount in lines])
    except IntegrityError:
        return JournalEntry.objects.get(kind=kind, reference=reference)
    return entry


def post_refund_approved(refund) -> JournalEntry:
    """What the return costs us: sales reversed, the fee kept, the rest owed to the customer."""
    return post(
        kind=EntryKind.REFUND_APPROVED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request, memo=f"Refund approved for {refund.return_request}",
        lines=[
            (account(SALES_RETURNS), refund.gross + refund.shipping_refund),
            (account(RESTOCKING_FEE_INCOME), -refund.restocking_fee),
            (account(REFUNDS_PAYABLE), -refund.net),
        ],
    )


def post_gateway_refund(refund) -> JournalEntry:
    return post(
        kind=EntryKind.GATEWAY_REFUND, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request, memo=f"Paid back via {refund.gateway}",
        lines=[(account(REFUNDS_PAYABLE), refund.net), (account(GATEWAY_CLEARING), -refund.net)],
    )


def post_store_credit(refund) -> JournalEntry:
    bonus = refund.store_credit_bonus if refund.paid_method == refund.method else Decimal(0)
    return post(
        kind=EntryKind.STORE_CREDIT_ISSUED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request, memo="Store credit issued",
        lines=[
            (account(REFUNDS_PAYABLE), refund.net),
            (account(STORE_CREDIT_BONUS_EXPENSE), bonus),
            (store_credit_account(refund.customer), -(refund.net + bonus)),
        ],
    )


def post_cheque(refund) -> JournalEntry:
    return post(
        kind=EntryKind.CHEQUE_ISSUED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request, memo=f"Cheque {refund.cheque_number} issued",
        lines=[(account(REFUNDS_PAYABLE), refund.net), (account(CHEQUES_ISSUED), -refund.net)],
    )


def post_write_off(*, return_line, amount: Decimal, currency: str, vendor_claim: bool = False,
                   revision: int | None = None) -> JournalEntry:
    """Stock we refunded that turned out worthless: written off, or claimed from the vendor.

    `revision` is the line's inspection revision: a supervisor's correction posts its own entry.
    """
    debit = account(VENDOR_CLAIMS if vendor_claim else INVENTORY_WRITE_OFF)
    reference = f"return_line:{return_line.pk}" + (f":r{revision}" if revision is not None else "")
    return post(
        kind=EntryKind.WRITE_OFF, reference=reference, currency=currency,
        return_request=return_line.return_request, memo=f"Write-off of {return_line}",
        lines=[(debit, amount), (account(RETURNED_INVENTORY), -amount)],
    )


def balance(acc: Account, currency: str) -> Decimal:
    return acc.lines.filter(currency=currency).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def store_credit_balance(customer, currency: str) -> Decimal:
    """What the customer can spend: the credit balance of their store-credit account."""
    acc = Account.objects.filter(code=f"store_credit:{customer.pk}").first()
    return -balance(acc, currency) if acc else Decimal(0)
