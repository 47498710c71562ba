"""Double-entry postings. Every money movement of a refund is one balanced journal entry.

Debits are positive, credits negative. PostgreSQL refuses an unbalanced entry at commit and
any UPDATE or DELETE of a posted line; a correction is a new entry.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from refunds.choices import AccountKind, EntryKind
from refunds.models import Account, JournalEntry, JournalLine

SALES_RETURNS = "sales_returns"
REFUNDS_PAYABLE = "refunds_payable"
GATEWAY_CLEARING = "gateway_clearing"
RESTOCKING_FEE_INCOME = "restocking_fee_income"
RETURN_FEE_INCOME = "return_fee_income"
RETURN_METHOD_FEE_INCOME = "return_method_fee_income"
STORE_CREDIT_BONUS_EXPENSE = "store_credit_bonus_expense"
CHEQUES_ISSUED = "cheques_issued"
INVENTORY_WRITE_OFF = "inventory_write_off"
RETURNED_INVENTORY = "returned_inventory"
VENDOR_CLAIMS = "vendor_claims_receivable"
EXCHANGE_SALES = "exchange_sales"
EXCHANGE_RECEIVABLE = "exchange_receivable"
GOODWILL_EXPENSE = "goodwill_expense"
GIFT_CARD_LIABILITY = "gift_card_liability"
OTHER_RECEIPTS = "other_receipts"
COLLECTION_WRITE_OFF = "collection_write_off"
EARLY_REFUND_RECEIVABLE = "early_refund_receivable"
EARLY_REFUND_WRITE_OFF = "early_refund_write_off"
CREDIT_SPENT_CLEARING = "credit_spent_clearing"

CHART = {
    SALES_RETURNS: ("Sales returns (contra-revenue)", AccountKind.CONTRA_REVENUE),
    REFUNDS_PAYABLE: ("Refunds payable", AccountKind.LIABILITY),
    GATEWAY_CLEARING: ("Payment gateway clearing", AccountKind.ASSET),
    RESTOCKING_FEE_INCOME: ("Restocking fee income", AccountKind.INCOME),
    RETURN_FEE_INCOME: ("Return fee income (handling, return shipping)", AccountKind.INCOME),
    RETURN_METHOD_FEE_INCOME: ("Return method fee income (drop-off, label)", AccountKind.INCOME),
    STORE_CREDIT_BONUS_EXPENSE: ("Store-credit bonus expense", AccountKind.EXPENSE),
    CHEQUES_ISSUED: ("Cheques issued (bank)", AccountKind.ASSET),
    INVENTORY_WRITE_OFF: ("Inventory write-off", AccountKind.EXPENSE),
    RETURNED_INVENTORY: ("Returned inventory", AccountKind.ASSET),
    VENDOR_CLAIMS: ("Vendor claims receivable", AccountKind.ASSET),
    EXCHANGE_SALES: ("Replacement orders (exchange sales)", AccountKind.INCOME),
    EXCHANGE_RECEIVABLE: ("Exchange differences receivable", AccountKind.ASSET),
    GOODWILL_EXPENSE: ("Goodwill expense", AccountKind.EXPENSE),
    GIFT_CARD_LIABILITY: ("Gift card liability", AccountKind.LIABILITY),
    OTHER_RECEIPTS: ("Payments received by other means (bank)", AccountKind.ASSET),
    COLLECTION_WRITE_OFF: ("Uncollectable exchange charges (written off)", AccountKind.EXPENSE),
    EARLY_REFUND_RECEIVABLE: ("Early refunds not earned (receivable)", AccountKind.ASSET),
    EARLY_REFUND_WRITE_OFF: ("Early refunds written off", AccountKind.EXPENSE),
    # The storefront's sales paid with gift cards or store credit: it settles them against its own books.
    CREDIT_SPENT_CLEARING: ("Credit spent at the storefront (sales clearing)", AccountKind.LIABILITY),
}


@dataclass(frozen=True)
class StoreCredit:
    """A customer's store-credit account, named by the customer's id (opened on first use)."""

    customer_id: int

    @property
    def code(self) -> str:
        return f"store_credit:{self.customer_id}"


def account(code: str) -> Account:
    return Account.objects.get(pk=_account_ids([code])[code])


def store_credit_account(customer) -> Account:
    key = StoreCredit(customer.pk)
    return Account.objects.get(pk=_account_ids([key])[key])


def _account_ids(keys) -> dict:
    """The ids of the accounts `keys` name (chart codes, `StoreCredit`s): one lookup, and one more
    statement to open those missing (an account opened at the same moment elsewhere is kept)."""
    codes = {key: key.code if isinstance(key, StoreCredit) else key for key in keys}
    if not codes:
        return {}
    table = Account._meta.db_table
    select = f"SELECT code, id FROM {table} WHERE code = ANY(%s::text[])"
    with connection.cursor() as cursor:
        cursor.execute(select, [list(codes.values())])
        found = dict(cursor.fetchall())
        missing = [key for key, code in codes.items() if code not in found]
        if missing:
            user = get_user_model()
            username = user._meta.get_field(user.USERNAME_FIELD).column
            cursor.execute(f"""
                INSERT INTO {table} (code, name, kind, customer_id)
                SELECT w.code, coalesce(w.name, 'Store credit of ' || u.{username}), w.kind, w.customer_id
                  FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS w(code, name, kind, customer_id)
                  LEFT JOIN {user._meta.db_table} u ON u.id = w.customer_id
                 ORDER BY w.code
                ON CONFLICT (code) DO NOTHING""",
                [list(column) for column in zip(*(
                    (key.code, None, AccountKind.LIABILITY, key.customer_id) if isinstance(key, StoreCredit)
                    else (key, *CHART[key], None) for key in missing), strict=True)])
            cursor.execute(select, [[codes[key] for key in missing]])
            found.update(cursor.fetchall())
    return {key: found[code] for key, code in codes.items()}


def _pk(row_or_id):
    return getattr(row_or_id, "pk", row_or_id)


def post(*, kind: str, reference: str, currency: str, lines: list[tuple[Account | str | StoreCredit, Decimal]],
         refund=None, return_request=None, memo: str = "") -> JournalEntry | None:
    """Post one entry; posting the same (kind, reference) twice returns the first entry. An entry
    whose every amount is zero moves no money and is not posted (None).

    An account is an `Account`, a chart code or a `StoreCredit`; `refund` and `return_request` are
    rows or their ids. The entry and its lines are one statement, after one that finds the accounts."""
    lines = [(acc, amount) for acc, amount in lines if amount]
    if not lines:
        return None
    ids = _account_ids({acc for acc, _ in lines if not isinstance(acc, Account)})
    entry = JournalEntry(kind=kind, reference=reference, refund_id=_pk(refund), return_request_id=_pk(return_request),
                         memo=memo[:300], created_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH entry AS (
                INSERT INTO {JournalEntry._meta.db_table}
                       (kind, reference, refund_id, return_request_id, memo, created_at)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (kind, reference) DO NOTHING
                RETURNING id
            ), posted AS (
                INSERT INTO {JournalLine._meta.db_table} (entry_id, account_id, amount, currency)
                SELECT entry.id, line.account_id, line.amount, %s
                  FROM entry, unnest(%s::bigint[], %s::numeric[]) WITH ORDINALITY AS line(account_id, amount, n)
                 ORDER BY line.n
            )
            SELECT id FROM entry""",
            [entry.kind, entry.reference, entry.refund_id, entry.return_request_id, entry.memo, entry.created_at,
             currency, [acc.pk if isinstance(acc, Account) else ids[acc] for acc, _ in lines],
             [amount for _, amount in lines]])
        inserted = cursor.fetchone()
    if inserted is None:  # posted before (or by a concurrent transaction that has committed since)
        return JournalEntry.objects.get(kind=kind, reference=reference)
    entry.pk = inserted[0]
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


def _settlement_lines(*, gross, shipping, fee, replacement_total, charge, net,
                      return_fees=Decimal(0), method_fee=Decimal(0)) -> list[tuple[str, Decimal]]:
    """A return's money in one entry: sales reversed (what came back, and the shipping), the fees
    kept (restocking, the return rules' fees, the return method's), the replacements sold, what the
    customer owes us for them, and what we owe them."""
    return [
        (SALES_RETURNS, gross + shipping),
        (RESTOCKING_FEE_INCOME, -fee),
        (RETURN_FEE_INCOME, -return_fees),
        (RETURN_METHOD_FEE_INCOME, -method_fee),
        (EXCHANGE_SALES, -replacement_total),
        (EXCHANGE_RECEIVABLE, charge),
        (REFUNDS_PAYABLE, -net),
    ]


def post_refund_approved(refund) -> JournalEntry:
    """What the return costs us, and what is owed either way."""
    return post(
        kind=EntryKind.REFUND_APPROVED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo=f"Refund approved for {refund.return_request}",
        lines=_settlement_lines(gross=refund.gross, shipping=refund.shipping_refund, fee=refund.restocking_fee,
                                replacement_total=refund.replacement_total, charge=refund.charge_amount,
                                net=refund.net, return_fees=refund.return_fees,
                                method_fee=refund.method_fee),
    )


def post_exchange_settled(*, return_request, quote) -> JournalEntry | None:
    """An exchange that leaves nothing to pay or collect: the sale reversed, the replacement sold."""
    return post(
        kind=EntryKind.EXCHANGE_SETTLED, reference=f"return:{return_request.pk}", currency=quote.currency,
        return_request=return_request, memo=f"Exchange settled for {return_request}",
        lines=_settlement_lines(gross=quote.gross, shipping=quote.shipping_refund, fee=quote.restocking_fee,
                                replacement_total=quote.replacement_total, charge=quote.charge, net=quote.net,
                                return_fees=quote.return_fees, method_fee=quote.method_fee),
    )


def post_gateway_refund(refund) -> JournalEntry:
    return post(
        kind=EntryKind.GATEWAY_REFUND, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo=f"Paid back via {refund.gateway}",
        lines=[(REFUNDS_PAYABLE, refund.payment_amount), (GATEWAY_CLEARING, -refund.payment_amount)],
    )


def post_gateway_charge(refund) -> JournalEntry:
    """The difference an exchange left the customer to pay, collected."""
    return post(
        kind=EntryKind.GATEWAY_CHARGE, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id,
        memo=f"Exchange difference collected via {refund.gateway}",
        lines=[(GATEWAY_CLEARING, refund.charge_amount),
               (EXCHANGE_RECEIVABLE, -refund.charge_amount)],
    )


def post_collection_settled(refund) -> JournalEntry:
    """A collection finance made another way: from the customer's store credit, or a payment that
    came in by other means (a bank transfer, say)."""
    from refunds.choices import CollectionSettlement

    from_credit = refund.collection_settlement == CollectionSettlement.STORE_CREDIT
    debit = StoreCredit(refund.customer_id) if from_credit else OTHER_RECEIPTS
    how = "deducted from store credit" if from_credit else f"paid by other means ({refund.settlement_reference})"
    return post(
        kind=EntryKind.COLLECTION_SETTLED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo=f"Collection {how}",
        lines=[(debit, refund.charge_amount), (EXCHANGE_RECEIVABLE, -refund.charge_amount)],
    )


def post_collection_written_off(refund) -> JournalEntry:
    """A collection given up: what the customer owed becomes an expense."""
    return post(
        kind=EntryKind.COLLECTION_WRITTEN_OFF, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo=f"Written off: {refund.write_off_reason}",
        lines=[(COLLECTION_WRITE_OFF, refund.charge_amount),
               (EXCHANGE_RECEIVABLE, -refund.charge_amount)],
    )


def post_store_credit(refund) -> JournalEntry | None:
    """The part the customer chose as store credit, with its bonus."""
    amount, bonus = refund.store_credit_amount, refund.store_credit_bonus
    return post(
        kind=EntryKind.STORE_CREDIT_ISSUED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo="Store credit issued",
        lines=[
            (REFUNDS_PAYABLE, amount),
            (STORE_CREDIT_BONUS_EXPENSE, bonus if amount else Decimal(0)),
            (StoreCredit(refund.customer_id), -(amount + bonus) if amount else Decimal(0)),
        ],
    )


def post_fallback_store_credit(refund) -> JournalEntry | None:
    """The part the gateway could not pay back, paid as store credit instead (no bonus: the
    customer did not choose it)."""
    amount = refund.payment_amount
    return post(
        kind=EntryKind.STORE_CREDIT_ISSUED, reference=f"refund:{refund.pk}:fallback", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo="Store credit issued instead of the gateway",
        lines=[(REFUNDS_PAYABLE, amount), (StoreCredit(refund.customer_id), -amount)],
    )


def post_cheque(refund) -> JournalEntry:
    return post(
        kind=EntryKind.CHEQUE_ISSUED, reference=f"refund:{refund.pk}", currency=refund.currency,
        refund=refund, return_request=refund.return_request_id, memo=f"Cheque {refund.cheque_number} issued",
        lines=[(REFUNDS_PAYABLE, refund.payment_amount), (CHEQUES_ISSUED, -refund.payment_amount)],
    )


def post_gift_card(gift_card) -> JournalEntry:
    """A gift recipient's return paid as a gift card: owed to them now, not to the purchaser."""
    refund = gift_card.refund
    return post(
        kind=EntryKind.GIFT_CARD_ISSUED, reference=f"refund:{refund.pk}", currency=gift_card.currency,
        refund=refund, return_request=refund.return_request_id, memo=f"Gift card ····{gift_card.code_hint} issued",
        lines=[(REFUNDS_PAYABLE, gift_card.initial_amount),
               (GIFT_CARD_LIABILITY, -gift_card.initial_amount)],
    )


def _credit_spent(spending) -> tuple[object, str]:
    """The account a spending draws on, and what it is called in a memo."""
    if spending.gift_card_id is not None:
        return GIFT_CARD_LIABILITY, f"Gift card ····{spending.gift_card.code_hint}"
    return StoreCredit(spending.customer_id), "Store credit"


def post_credit_spent(spending) -> JournalEntry:
    """Credit spent at checkout: no longer owed to its holder, owed to the sale."""
    source, name = _credit_spent(spending)
    return post(
        kind=EntryKind.CREDIT_SPENT, reference=f"credit_spending:{spending.pk}", currency=spending.currency,
        memo=f"{name} spent for {spending.reference}",
        lines=[(source, spending.amount), (CREDIT_SPENT_CLEARING, -spending.amount)],
    )


def post_credit_spending_reversed(spending) -> JournalEntry:
    """The checkout was cancelled: the amount is its holder's again."""
    source, name = _credit_spent(spending)
    return post(
        kind=EntryKind.CREDIT_SPENDING_REVERSED, reference=f"credit_spending:{spending.pk}",
        currency=spending.currency, memo=f"{name} spent for {spending.reference}: reversed",
        lines=[(CREDIT_SPENT_CLEARING, spending.amount), (source, -spending.amount)],
    )


def post_goodwill(goodwill, *, refund=None) -> JournalEntry:
    """A goodwill grant is an expense: owed to the card (through `refund`) or credited at once."""
    credit = REFUNDS_PAYABLE if refund is not None else StoreCredit(goodwill.customer_id)
    return post(
        kind=EntryKind.GOODWILL_GRANTED, reference=f"goodwill:{goodwill.pk}", currency=goodwill.currency,
        refund=refund, memo=f"Goodwill on {goodwill.order}: {goodwill.reason}",
        lines=[(GOODWILL_EXPENSE, goodwill.amount), (credit, -goodwill.amount)],
    )


def post_write_off(*, return_line, amount: Decimal, currency: str, vendor_claim: bool = False,
                   revision: int | None = None) -> JournalEntry:
    """Stock we refunded that turned out worthless: written off, or claimed from the vendor.

    `revision` is the line's inspection revision: a supervisor's correction posts its own entry.
    """
    debit = VENDOR_CLAIMS if vendor_claim else INVENTORY_WRITE_OFF
    reference = f"return_line:{return_line.pk}" + (f":r{revision}" if revision is not None else "")
    return post(
        kind=EntryKind.WRITE_OFF, reference=reference, currency=currency,
        return_request=return_line.return_request_id, memo=f"Write-off of {return_line}",
        lines=[(debit, amount), (RETURNED_INVENTORY, -amount)],
    )


def post_early_refund_unearned(recovery) -> JournalEntry:
    """Paid early for goods that never came or failed inspection: the sale it reversed stands
    again for that part, and the customer owes it."""
    return post(
        kind=EntryKind.EARLY_REFUND_UNEARNED, reference=f"early_recovery:{recovery.pk}", currency=recovery.currency,
        refund=recovery.refund_id, return_request=recovery.return_request_id,
        memo=f"Early refund not earned ({recovery.get_cause_display().lower()}) on {recovery.return_request}",
        lines=[(EARLY_REFUND_RECEIVABLE, recovery.amount), (SALES_RETURNS, -recovery.amount)],
    )


def post_early_refund_settled(recovery) -> JournalEntry:
    """The receivable cleared: paid back (money in through the gateway's account) or written off."""
    from refunds.choices import RecoveryStatus

    repaid = recovery.status == RecoveryStatus.REPAID
    kind = EntryKind.EARLY_REFUND_REPAID if repaid else EntryKind.EARLY_REFUND_WRITTEN_OFF
    debit = GATEWAY_CLEARING if repaid else EARLY_REFUND_WRITE_OFF
    return post(
        kind=kind, reference=f"early_recovery:{recovery.pk}", currency=recovery.currency,
        refund=recovery.refund_id, return_request=recovery.return_request_id,
        memo=f"Early refund {'paid back' if repaid else 'written off'}: {recovery.settlement_note}",
        lines=[(debit, recovery.amount), (EARLY_REFUND_RECEIVABLE, -recovery.amount)],
    )


def balance(acc: Account, currency: str) -> Decimal:
    return acc.lines.filter(currency=currency).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def store_credit_balance(customer, currency: str) -> Decimal:
    """What the customer can spend: the credit balance of their store-credit account."""
    acc = Account.objects.filter(code=f"store_credit:{customer.pk}").first()
    return -balance(acc, currency) if acc else Decimal(0)
