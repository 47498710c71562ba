"""The data `make bench` measures against, written set-based (INSERT … SELECT over generate_series,
as fraud/bench.py does) into the dedicated bench database.

- `seed_history`: a year of business — customers, orders, a return per order in every state, and the
  refunds of the paid ones with their journal entries (about four ledger lines a refund). The review
  queue and reconciliation are timed against it.
- `seed_api_orders`: delivered orders of customers holding API tokens, for the load generator.
- `seed_refunds_due`: returns inspected with their refund pending and approved in the ledger — what
  `refund_start_for_return` leaves behind — for the worker stages to pay.

Rows are recognised by their sales channel (`lb-history`, and one per stage) and the prefixes of
usernames (`lbh-`, `<channel>-`), SKUs (`lb-sku-`) and RMA numbers (`LBH-`, …): none overlaps the
fraud benchmark's `bench` markers, so both can share the bench database.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection

from core.models import ApiToken

# The set-based writers of the fraud benchmark: every column its SQL or the field's default.
from fraud.bench import _execute, _insert_select, _json, _number, _scalar, _table
from inventory.models import Product
from orders.models import Order, OrderLine, Payment, SalesChannel
from refunds import ledger
from refunds.models import JournalEntry, JournalLine, Refund
from returns.models import ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest

User = get_user_model()

HISTORY_CHANNEL = "lb-history"
BATCH = 250_000
PRODUCTS = 200
CATEGORIES = ["apparel", "shoes", "home", "beauty", "toys", "sports"]
# Where a return of the history stands: cumulative share up to and including each status.
STATUS_MIX = [
    (0.03, "requested"), (0.08, "authorized"), (0.12, "in_transit"), (0.14, "received"), (0.15, "inspected"),
    (0.16, "refund_pending"), (0.28, "refunded"), (0.80, "closed"), (0.85, "rejected"), (0.95, "cancelled"),
    (1.00, "expired"),
]
# A closed return was paid when mod(id, CLOSED_PAID_EVERY) = 0; otherwise nothing was owed.
CLOSED_PAID_EVERY = 4
# What calculate_refund's as_dict() holds for one line returned as new, paid to the card (l is the order line).
BREAKDOWN = """jsonb_build_object('currency', 'USD', 'gross', l.unit_price::text, 'restocking_fee', '0.000',
    'shipping_refund', '0.000', 'net', l.unit_price::text, 'store_credit_bonus', '0.000',
    'lines', jsonb_build_array(jsonb_build_object('key', l.id, 'quantity', 1, 'gross', l.unit_price::text,
                                                  'restocking_fee', '0.000', 'net', l.unit_price::text)))"""
REVIEW_REASONS = [{"code": "high_fraud_score", "detail": "Fraud score at or above the review threshold."}]


@dataclass(frozen=True)
class HistoryScale:
    orders: int
    customers: int


Progress = Callable[[str], None]


def _step(progress: Progress, label: str, write: Callable[[], int]) -> int:
    started = time.perf_counter()
    rows = write()
    progress(f"  {label:<28} {rows:>10,} rows in {time.perf_counter() - started:5.1f} s")
    return rows


def _now() -> dict:
    return {"now": _scalar("SELECT now()")}


def reference_data() -> dict:
    """The policy, reason, products and ledger accounts every stage needs."""
    ReturnPolicy.objects.get_or_create(category=None, market=None, defaults={"window_days": 30})
    reason = ReturnReason.objects.get_or_create(code="wrong_size", defaults={"label": "Wrong size or fit"})[0]
    products = [Product.objects.get_or_create(sku=f"lb-sku-{n}", defaults={
        "name": f"Bench product {n}", "category": CATEGORIES[n % len(CATEGORIES)], "unit_cost": 10})[0]
        for n in range(1, PRODUCTS + 1)]
    accounts = {code: ledger.account(code).pk for code in (ledger.SALES_RETURNS, ledger.REFUNDS_PAYABLE,
                                                           ledger.GATEWAY_CLEARING)}
    return {"reason": reason.pk, "products": [p.pk for p in products], "accounts": accounts}


def _channel(code: str) -> SalesChannel:
    return SalesChannel.objects.get_or_create(code=code, defaults={"name": code})[0]


def _customers(prefix: str, count: int, progress: Progress, table: str) -> None:
    _step(progress, "customers", lambda: _insert_select(User, {
        "password": "'!'", "username": "%(prefix)s || g", "email": "%(prefix)s || g || '@example.com'",
        "date_joined": "%(now)s", "is_active": "true", "is_staff": "false", "is_superuser": "false",
    }, "FROM generate_series(1, %(n)s) AS g", {**_now(), "prefix": prefix, "n": count}))
    _number(table, f"SELECT id FROM {_table(User)} WHERE starts_with(username, %(p)s)", {"p": prefix})


def _products_table() -> None:
    _number("bench_products", f"SELECT id FROM {_table(Product)} WHERE starts_with(sku, 'lb-sku-')", {})


def _orders(channel: SalesChannel, *, count: int, customers: int, customer_table: str, placed: str, lines: int,
            price: str, progress: Progress) -> tuple[int, int]:
    """`count` fulfilled orders of `lines` lines each, spread over the numbered customers."""
    now = _now()
    for start in range(1, count + 1, BATCH):
        end = min(count, start + BATCH - 1)
        _step(progress, f"orders {end:,}/{count:,}", lambda start=start, end=end: _insert_select(Order, {
            "channel_id": "%(channel)s", "external_id": "%(code)s || '-' || g", "customer_id": "c.id",
            "status": "'fulfilled'", "currency": "'USD'", "shipping_cost": "4.95", "placed_at": "t.placed_at",
            "delivered_at": "t.placed_at + interval '3 days'", "created_at": "%(now)s", "updated_at": "%(now)s",
        }, f"""FROM generate_series(%(start)s, %(end)s) AS g
               CROSS JOIN LATERAL (SELECT {placed} AS placed_at WHERE g > 0) t
               JOIN {customer_table} c ON c.n = 1 + mod(g - 1, %(customers)s)""",
            {**now, "channel": channel.pk, "code": channel.code, "start": start, "end": end,
             "customers": customers}))
    first, last = (_scalar(f"SELECT {agg}(id) FROM {_table(Order)} WHERE channel_id = %s", [channel.pk])
                   for agg in ("min", "max"))
    for start in range(first, last + 1, BATCH):
        end = min(last, start + BATCH - 1)
        _step(progress, f"order lines {end - first + 1:,}", lambda start=start, end=end: _insert_select(OrderLine, {
            "order_id": "o.id", "product_id": "p.id", "external_id": "k::text", "quantity_ordered": "1",
            "quantity_shipped": "1", "unit_price": price, "unit_tax": "0",
        }, f"""FROM {_table(Order)} o CROSS JOIN generate_series(1, %(lines)s) AS k
               JOIN bench_products p ON p.n = 1 + mod(o.id + k, {PRODUCTS})
              WHERE o.channel_id = %(channel)s AND o.id BETWEEN %(start)s AND %(end)s""",
            {"channel": channel.pk, "start": start, "end": end, "lines": lines}))
    return first, last


def _payments(channel: SalesChannel, progress: Progress) -> None:
    _step(progress, "payments", lambda: _insert_select(Payment, {
        "order_id": "o.id", "gateway": "'sandbox'", "charge_reference": "'ch_' || o.external_id",
        "amount": "o.shipping_cost + t.total", "currency": "'USD'", "captured_at": "o.placed_at",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, f"""FROM {_table(Order)} o CROSS JOIN LATERAL (
               SELECT sum(l.unit_price * l.quantity_ordered) AS total FROM {_table(OrderLine)} l
                WHERE l.order_id = o.id) t
          WHERE o.channel_id = %(channel)s""", {**_now(), "channel": channel.pk}))


def _analyze(*models) -> None:
    for model in models:
        _execute(f"ANALYZE {_table(model)}")


class _TriggersOff:
    """The ledger's append-only and balance triggers are row triggers: set-based seeding of rows
    known to balance skips them (reconciliation then proves the books), as a restore would."""

    def __enter__(self):
        _execute("SET session_replication_role = replica")

    def __exit__(self, *exc):
        _execute("SET session_replication_role = DEFAULT")


def _ledger_for(refunds_sql: str, params: dict, progress: Progress, accounts: dict) -> None:
    """Journal entries of refunds chosen by `refunds_sql` (rows r of the refunds table): the approval of
    every one, the gateway payment of the completed ones, as refunds/ledger.py posts them."""
    params = {**params, **_now(), "sales": accounts[ledger.SALES_RETURNS],
              "payable": accounts[ledger.REFUNDS_PAYABLE], "clearing": accounts[ledger.GATEWAY_CLEARING]}
    for kind, where in (("refund_approved", "true"), ("gateway_refund", "r.status = 'completed'")):
        _step(progress, f"journal entries {kind}", lambda kind=kind, where=where: _insert_select(JournalEntry, {
            "kind": f"'{kind}'", "reference": "'refund:' || r.id", "refund_id": "r.id",
            "return_request_id": "r.return_request_id", "memo": "''", "created_at": "%(now)s",
        }, f"{refunds_sql} AND {where}", params))
    lines = [
        ("refund_approved", "%(sales)s", "e.gross + e.shipping_refund"),
        ("refund_approved", "%(payable)s", "-e.net"),
        ("gateway_refund", "%(payable)s", "e.net"),
        ("gateway_refund", "%(clearing)s", "-e.net"),
    ]
    for kind, account, amount in lines:
        _step(progress, f"journal lines {kind}", lambda kind=kind, account=account, amount=amount: _insert_select(
            JournalLine, {"entry_id": "e.id", "account_id": account, "amount": amount, "currency": "e.currency"},
            f"""FROM (SELECT j.id, r.gross, r.shipping_refund, r.net, r.currency
                        FROM {_table(JournalEntry)} j JOIN {_table(Refund)} r ON r.id = j.refund_id
                       WHERE j.kind = '{kind}' AND j.refund_id IN (SELECT r.id {refunds_sql})) e""", params))


def _refunds_of(channel: SalesChannel) -> str:
    """Refunds (as r) of returns of the channel's orders; the channel id is the %(channel)s parameter."""
    return f"""FROM {_table(Refund)} r JOIN {_table(ReturnRequest)} rr ON rr.id = r.return_request_id
               JOIN {_table(Order)} o ON o.id = rr.order_id WHERE o.channel_id = %(channel)s"""


# --- a year of business ---

def history_size() -> dict:
    channel = SalesChannel.objects.filter(code=HISTORY_CHANNEL).first()
    if channel is None:
        return {"orders": 0, "returns": 0, "ledger_lines": 0}
    return {
        "orders": Order.objects.filter(channel=channel).count(),
        "returns": ReturnRequest.objects.filter(order__channel=channel).count(),
        "ledger_lines": JournalLine.objects.count(),
    }


def seed_history(scale: HistoryScale, progress: Progress) -> None:
    ref = reference_data()
    channel = _channel(HISTORY_CHANNEL)
    _execute("SELECT setseed(0.42)")
    _customers("lbh-", scale.customers, progress, "bench_history_customers")
    _products_table()
    first, _ = _orders(channel, count=scale.orders, customers=scale.customers,
                       customer_table="bench_history_customers", placed="%(now)s - random() * interval '365 days'",
                       lines=1, price="round((5 + random() * 195)::numeric, 2)", progress=progress)

    status = "CASE " + " ".join(f"WHEN t.r < {share} THEN '{name}'" for share, name in STATUS_MIX) + " END"
    snapshot = {"categories": {"": {"window_days": 30, "review_mode": "risk_based", "auto_approve_limit": "500",
                                    "restocking_fee_percent": "0", "restocking_fee_conditions": [],
                                    "store_credit_bonus_percent": "5", "refund_timing": "after_inspection"}},
                "review_threshold": 80}
    for start in range(first, first + scale.orders, BATCH):
        end = min(first + scale.orders - 1, start + BATCH - 1)
        _step(progress, f"returns {end - first + 1:,}/{scale.orders:,}", lambda start=start, end=end: _insert_select(
            ReturnRequest, {
                "rma_number": "'LBH-' || o.id", "order_id": "o.id", "customer_id": "o.customer_id", "status": status,
                "policy_snapshot": "%(snapshot)s::jsonb", "fraud_score": "floor(t.r2 * 100)::int",
                "review_reasons": "CASE WHEN t.r < 0.03 AND t.r2 >= 0.8 THEN %(reasons)s::jsonb ELSE '[]' END",
                "requested_at": "o.delivered_at + t.r2 * interval '28 days'",
                "authorized_at": "CASE WHEN t.r >= 0.03 THEN o.delivered_at + t.r2 * interval '28 days' END",
                "created_at": "%(now)s", "updated_at": "%(now)s",
            }, f"""FROM {_table(Order)} o CROSS JOIN LATERAL (SELECT random() AS r, random() AS r2 WHERE o.id > 0) t
                  WHERE o.channel_id = %(channel)s AND o.id BETWEEN %(start)s AND %(end)s""",
            {**_now(), "channel": channel.pk, "start": start, "end": end, "snapshot": _json(snapshot),
             "reasons": _json(REVIEW_REASONS)}))
    history_returns = f"""FROM {_table(ReturnRequest)} r JOIN {_table(Order)} o ON o.id = r.order_id
                         WHERE o.channel_id = %(channel)s"""
    _step(progress, "return lines", lambda: _insert_select(ReturnLine, {
        "return_request_id": "r.id", "order_line_id": "l.id", "quantity": "1", "reason_id": "%(reason)s",
    }, f"{history_returns.replace('WHERE', f'JOIN {_table(OrderLine)} l ON l.order_id = o.id WHERE')}",
        {"channel": channel.pk, "reason": ref["reason"]}))
    _step(progress, "refunds", lambda: _insert_select(Refund, {
        "return_request_id": "r.id", "customer_id": "r.customer_id", "method": "'original_payment'",
        "currency": "'USD'", "gross": "l.unit_price", "net": "l.unit_price", "idempotency_key": "gen_random_uuid()",
        "breakdown": BREAKDOWN, "gateway": "'sandbox'", "charge_reference": "'ch_' || o.external_id",
        # A refund still owed in a year-old history is one finance must act on, not one in flight (the
        # sweeper would re-drive a pending one): the failed-refunds queue.
        "status": "CASE WHEN r.status = 'refund_pending' THEN 'failed' ELSE 'completed' END",
        "needs_attention": "r.status = 'refund_pending'",
        "failure_code": "CASE WHEN r.status = 'refund_pending' THEN 'gateway_unavailable' ELSE '' END",
        "attempts": "CASE WHEN r.status = 'refund_pending' THEN 5 ELSE 1 END",
        "completed_at": "CASE WHEN r.status = 'refund_pending' THEN NULL ELSE r.requested_at + interval '9 days' END",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, f"""{history_returns.replace('WHERE', f'JOIN {_table(OrderLine)} l ON l.order_id = o.id WHERE')}
           AND (r.status IN ('refund_pending', 'refunded')
                OR (r.status = 'closed' AND mod(r.id, {CLOSED_PAID_EVERY}) = 0))""",
        {**_now(), "channel": channel.pk}))
    with _TriggersOff():
        _ledger_for(_refunds_of(channel), {"channel": channel.pk}, progress, ref["accounts"])
    started = time.perf_counter()
    _analyze(User, Order, OrderLine, ReturnRequest, ReturnLine, Refund, JournalEntry, JournalLine)
    progress(f"  {'analyze':<28} {'':>10}      in {time.perf_counter() - started:5.1f} s")


# --- what the stages drive ---

@dataclass(frozen=True)
class ApiOrder:
    token: str
    order_id: int
    line_ids: tuple[int, ...]


# A customer's bench token: derived from the run's code and the customer, so that it can be stored as
# a digest set-based and handed to the load generator in clear.
_BENCH_TOKEN = "substr(encode(sha256(convert_to(%(salt)s || {customer}, 'UTF8')), 'hex'), 1, 40)"


def seed_api_orders(code: str, *, orders: int, lines: int, progress: Progress) -> list[ApiOrder]:
    """Delivered orders, two per customer, each customer with an API token: fresh customers raise
    no fraud signal, so every request takes the full path to an authorised return."""
    reference_data()
    channel = _channel(code)
    prefix = f"{code}-"
    customers = max(1, orders // 2)
    _customers(prefix, customers, progress, "bench_api_customers")
    salt = {"salt": f"{code}:"}
    _step(progress, "API tokens", lambda: _insert_select(ApiToken, {
        "digest": f"encode(sha256(convert_to({_BENCH_TOKEN.format(customer='c.id')}, 'UTF8')), 'hex')",
        "prefix": f"left({_BENCH_TOKEN.format(customer='c.id')}, {ApiToken.PREFIX_LENGTH})", "name": "'bench'",
        "user_id": "c.id", "created_at": "%(now)s",
    }, "FROM bench_api_customers c", {**_now(), **salt}))
    _products_table()
    _orders(channel, count=orders, customers=customers, customer_table="bench_api_customers",
            placed="%(now)s - interval '8 days'", lines=lines, price="25.00", progress=progress)
    _payments(channel, progress)
    _analyze(User, ApiToken, Order, OrderLine, Payment)
    with connection.cursor() as cursor:
        # Only digests are stored: each customer's token is derived again, as it was seeded.
        cursor.execute(f"""SELECT {_BENCH_TOKEN.format(customer='o.customer_id')}, o.id, array_agg(l.id ORDER BY l.id)
                             FROM {_table(Order)} o JOIN {_table(OrderLine)} l ON l.order_id = o.id
                            WHERE o.channel_id = %(channel)s GROUP BY o.customer_id, o.id ORDER BY o.id""",
                       {"channel": channel.pk, **salt})
        return [ApiOrder(token, order_id, tuple(line_ids)) for token, order_id, line_ids in cursor.fetchall()]


def seed_refunds_due(code: str, *, refunds: int, progress: Progress) -> list[int]:
    """`refunds` returns inspected as new with their refund pending (original payment through the sandbox
    gateway) and approved in the ledger; returns the refund ids. Nothing is queued."""
    ref = reference_data()
    channel = _channel(code)
    prefix = f"{code}-"
    customers = max(1, refunds // 4)
    _customers(prefix, customers, progress, "bench_refund_customers")
    _products_table()
    _orders(channel, count=refunds, customers=customers, customer_table="bench_refund_customers",
            placed="%(now)s - interval '20 days'", lines=1, price="round((5 + random() * 195)::numeric, 2)",
            progress=progress)
    _payments(channel, progress)
    default_policy = ReturnPolicy.objects.get(category=None, market=None)
    snapshot = {"categories": {"": default_policy.snapshot()}, "review_threshold": 80}
    source = f"FROM {_table(Order)} o WHERE o.channel_id = %(channel)s"
    _step(progress, "returns (inspected)", lambda: _insert_select(ReturnRequest, {
        "rma_number": "%(rma)s || o.id", "order_id": "o.id", "customer_id": "o.customer_id",
        "status": "'refund_pending'", "policy_snapshot": "%(snapshot)s::jsonb", "fraud_score": "0",
        "requested_at": "o.delivered_at + interval '1 day'", "authorized_at": "o.delivered_at + interval '1 day'",
        "shipped_at": "o.delivered_at + interval '2 days'", "received_at": "o.delivered_at + interval '5 days'",
        "inspected_at": "o.delivered_at + interval '6 days'", "label_status": "'issued'", "carrier": "'sandbox'",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, source, {**_now(), "channel": channel.pk, "rma": "LBR-", "snapshot": _json(snapshot)}))
    returns = f"""FROM {_table(ReturnRequest)} r JOIN {_table(Order)} o ON o.id = r.order_id
                  JOIN {_table(OrderLine)} l ON l.order_id = o.id WHERE o.channel_id = %(channel)s"""
    _step(progress, "return lines", lambda: _insert_select(ReturnLine, {
        "return_request_id": "r.id", "order_line_id": "l.id", "quantity": "1", "received_quantity": "1",
        "reason_id": "%(reason)s", "condition": "'new'", "disposition": "'restock'",
        "inspected_at": "r.inspected_at",
    }, returns, {"channel": channel.pk, "reason": ref["reason"]}))
    _step(progress, "refunds (pending)", lambda: _insert_select(Refund, {
        "return_request_id": "r.id", "customer_id": "r.customer_id", "method": "'original_payment'",
        "currency": "'USD'", "gross": "l.unit_price", "net": "l.unit_price", "idempotency_key": "gen_random_uuid()",
        "breakdown": BREAKDOWN, "gateway": "'sandbox'", "charge_reference": "'ch_' || o.external_id",
        "status": "'pending'",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, returns, {**_now(), "channel": channel.pk}))
    with _TriggersOff():
        _ledger_for(_refunds_of(channel), {"channel": channel.pk}, progress, ref["accounts"])
    _analyze(User, Order, OrderLine, Payment, ReturnRequest, ReturnLine, Refund, JournalEntry, JournalLine)
    return list(Refund.objects.filter(return_request__order__channel=channel).order_by("pk")
                .values_list("pk", flat=True))
