"""A synthetic history at scale, written with set-based SQL, to measure the risk-profile refresh
and request-time scoring against it. Used by `manage.py fraud_bench` (and `make bench`).

Every generated row is marked (the `bench` sales channel, `bench-` usernames and SKUs, `BENCH-`
RMA numbers) so a run can find, reuse or remove exactly what it wrote, next to real data.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from fraud.choices import SignalKind, Stage
from fraud.models import CustomerRiskProfile, FraudSignal
from fraud.rules import DEFAULT_RULES
from fraud.services import fraud_rules, fraud_score_request, risk_profiles_refresh
from inventory.models import Product
from orders.models import Order, OrderLine, SalesChannel
from refunds.models import Refund
from returns.models import ReturnLine, ReturnReason, ReturnRequest

User = get_user_model()

CHANNEL = "bench"
SEEDED = "Benchmark"  # the channel's name once seeding finished; a run cut short leaves SEEDING
SEEDING = "Benchmark (seeding)"
USER_PREFIX = "bench-"
SKU_PREFIX = "bench-sku-"
RMA_PREFIX = "BENCH-"
BATCH = 200_000
CATEGORIES = ["apparel", "shoes", "home", "beauty", "toys", "electronics", "jewellery", "sports"]
PRODUCTS = 400
# Where a generated return stands: cumulative share of returns up to and including each status.
STATUS_MIX = [
    (0.03, "requested"), (0.08, "authorized"), (0.12, "in_transit"), (0.14, "received"), (0.15, "inspected"),
    (0.16, "refund_pending"), (0.46, "refunded"), (0.86, "closed"), (0.90, "rejected"), (0.96, "cancelled"),
    (1.00, "expired"),
]
SIGNAL_SHARE = 0.2  # of returns carry one earlier signal
STAGE_OF = {SignalKind.LABEL_NOT_SCANNED: Stage.SHIPPING, SignalKind.DAMAGE_CLAIMED_FOUND_NEW: Stage.INSPECTION,
            SignalKind.WARDROBING: Stage.INSPECTION, SignalKind.EARLY_REFUND_UNEARNED: Stage.SHIPPING}


@dataclass(frozen=True)
class Scale:
    orders: int
    customers: int
    returns: int


@dataclass(frozen=True)
class Results:
    seeded: bool
    seed_seconds: float
    refresh_seconds: list[float]
    profiles: int
    flagged: int
    scoring_ms: list[float]
    queries_per_scoring: list[int]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.scoring_ms)

    @property
    def p95_ms(self) -> float:
        if len(self.scoring_ms) < 2:
            return self.scoring_ms[0]
        return statistics.quantiles(self.scoring_ms, n=20, method="inclusive")[-1]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


def _insert_select(model, values: dict[str, str], source: str, params: dict | None = None) -> int:
    """INSERT INTO the model's table from `source`: each column takes its SQL expression from
    `values`, or else the field's default, so a column added later needs no change here."""
    params = dict(params or {})
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.AutoField):
            continue
        columns.append(_q(field.column))
        if field.attname in values:
            expressions.append(values[field.attname])
        else:
            key = f"default_{field.attname}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            expressions.append(f"%({key})s")
    sql = f"INSERT INTO {_table(model)} ({', '.join(columns)}) SELECT {', '.join(expressions)} {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _execute(sql: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


# --- what is there ---

def seeding_finished() -> bool:
    return SalesChannel.objects.filter(code=CHANNEL, name=SEEDED).exists()


def existing_scale() -> Scale:
    channel = SalesChannel.objects.filter(code=CHANNEL).first()
    return Scale(
        orders=Order.objects.filter(channel=channel).count() if channel else 0,
        customers=User.objects.filter(username__startswith=USER_PREFIX).count(),
        returns=ReturnRequest.objects.filter(rma_number__startswith=RMA_PREFIX).count(),
    )


def remove(progress: Callable[[str], None]) -> None:
    """Delete every row a previous run wrote, children first."""
    channel = SalesChannel.objects.filter(code=CHANNEL).first()
    bench_returns = f"SELECT id FROM {_table(ReturnRequest)} WHERE starts_with(rma_number, %(rma)s)"
    bench_orders = f"SELECT id FROM {_table(Order)} WHERE channel_id = %(channel)s"
    bench_users = f"SELECT id FROM {_table(User)} WHERE starts_with(username, %(user)s)"
    params = {"rma": RMA_PREFIX, "channel": channel.pk if channel else None, "user": USER_PREFIX}
    steps = [
        (FraudSignal, f"return_request_id IN ({bench_returns})"),
        (Refund, f"return_request_id IN ({bench_returns})"),
        (ReturnLine, f"return_request_id IN ({bench_returns})"),
        (ReturnRequest, "starts_with(rma_number, %(rma)s)"),
        (OrderLine, f"order_id IN ({bench_orders})"),
        (Order, "channel_id = %(channel)s"),
        (SalesChannel, "code = %(code)s"),
        (CustomerRiskProfile, f"customer_id IN ({bench_users})"),
        (User, "starts_with(username, %(user)s)"),
        (Product, "starts_with(sku, %(sku)s)"),
    ]
    for model, where in steps:
        started = time.perf_counter()
        # Each deleted row is checked against the tables referring to it and its own key: with
        # stale statistics the planner may scan a whole index for each of those checks.
        _execute(f"ANALYZE {_table(model)}")
        deleted = _execute(f"DELETE FROM {_table(model)} WHERE {where}", {**params, "sku": SKU_PREFIX, "code": CHANNEL})
        _settle(model)
        progress(f"  removed {deleted:>9,} {model._meta.verbose_name_plural} in {time.perf_counter() - started:.1f} s")


def _settle(model) -> None:
    """Clear dead rows and refresh statistics, as autovacuum would in its own time. VACUUM
    cannot run inside a transaction (as under the test suite): there ANALYZE does."""
    _execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {_table(model)}")


# --- seeding ---

def seed(scale: Scale, progress: Callable[[str], None]) -> None:
    """Customers, products, orders with one line each, returns of some of those lines, their
    refunds and some earlier fraud signals: every table by INSERT ... SELECT over generate_series."""
    _execute("SELECT setseed(0.42)")
    now = {"now": _scalar("SELECT now()")}

    def step(label: str, write: Callable[[], int], model=None) -> None:
        started = time.perf_counter()
        rows = write()
        if model is not None:  # later steps read this table: plan them on its real size
            _execute(f"ANALYZE {_table(model)}")
        progress(f"  {label:<24} {rows:>10,} rows in {time.perf_counter() - started:5.1f} s")

    step("customers", lambda: _insert_select(User, {
        "password": "'!'", "username": "%(user)s || g", "email": "%(user)s || g || '@example.com'",
        "date_joined": "%(now)s", "is_active": "true", "is_staff": "false", "is_superuser": "false",
    }, "FROM generate_series(1, %(n)s) AS g", {**now, "user": USER_PREFIX, "n": scale.customers}), User)
    _number("fraud_bench_customers", f"SELECT id FROM {_table(User)} WHERE starts_with(username, %(p)s)",
            {"p": USER_PREFIX})

    channel, _ = SalesChannel.objects.update_or_create(code=CHANNEL, defaults={"name": SEEDING})
    step("products", lambda: _insert_select(Product, {
        "sku": "%(sku)s || g", "name": "'Bench product ' || g",
        "category": f"(ARRAY{CATEGORIES!r})[1 + mod(g, {len(CATEGORIES)})]",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, "FROM generate_series(1, %(n)s) AS g", {**now, "sku": SKU_PREFIX, "n": PRODUCTS}), Product)
    _number("fraud_bench_products", f"SELECT id FROM {_table(Product)} WHERE starts_with(sku, %(p)s)",
            {"p": SKU_PREFIX})

    # Every customer orders at least once; the rest of the orders lean towards some customers.
    for start in range(1, scale.orders + 1, BATCH):
        end = min(scale.orders, start + BATCH - 1)
        step(f"orders {end:,}/{scale.orders:,}", lambda start=start, end=end: _insert_select(Order, {
            "channel_id": "%(channel)s", "external_id": "'B' || g", "customer_id": "c.id", "status": "'fulfilled'",
            "currency": "'USD'", "shipping_cost": "4.95", "placed_at": "t.placed_at",
            "delivered_at": "t.placed_at + interval '3 days'", "created_at": "%(now)s", "updated_at": "%(now)s",
        }, """FROM generate_series(%(start)s, %(end)s) AS g
              CROSS JOIN LATERAL (SELECT %(now)s - random() * interval '400 days' AS placed_at,
                                         CASE WHEN g <= %(customers)s THEN g
                                              ELSE 1 + floor(random() * random() * %(customers)s)::int END AS n
                                   WHERE g > 0) t
              JOIN fraud_bench_customers c ON c.n = t.n""",
            {**now, "channel": channel.pk, "start": start, "end": end, "customers": scale.customers}), Order)

    first_order = Order.objects.filter(channel=channel).aggregate(first=models.Min("id"))["first"] or 0
    last_order = Order.objects.filter(channel=channel).aggregate(last=models.Max("id"))["last"] or 0
    for start in range(first_order, last_order + 1, BATCH):
        end = min(last_order, start + BATCH - 1)
        step(f"order lines {end - first_order + 1:,}", lambda start=start, end=end: _insert_select(OrderLine, {
            "order_id": "o.id", "product_id": "p.id", "quantity_ordered": "1", "quantity_shipped": "1",
            "unit_price": "round((5 + random() * 495)::numeric, 2)", "unit_tax": "0",
        }, f"""FROM {_table(Order)} o
               JOIN fraud_bench_products p ON p.n = 1 + mod(o.id, {PRODUCTS})
              WHERE o.channel_id = %(channel)s AND o.id BETWEEN %(start)s AND %(end)s""",
            {"channel": channel.pk, "start": start, "end": end}), OrderLine)

    reason = ReturnReason.objects.get_or_create(code="changed_mind", defaults={"label": "Changed my mind"})[0]
    every = max(1, scale.orders // max(1, scale.returns))
    status = "CASE " + " ".join(f"WHEN t.r < {share} THEN '{name}'" for share, name in STATUS_MIX) + " END"
    snapshot = {"categories": {"": {"window_days": 30, "review_mode": "risk_based", "auto_approve_limit": "500"}},
                "review_threshold": 80}
    step("returns", lambda: _insert_select(ReturnRequest, {
        "rma_number": "%(rma)s || o.id", "order_id": "o.id", "customer_id": "o.customer_id", "status": status,
        "policy_snapshot": "%(snapshot)s::jsonb", "fraud_score": "floor(t.r2 * 60)::int",
        "requested_at": "o.delivered_at + t.r2 * interval '28 days'",
        "authorized_at": "o.delivered_at + t.r2 * interval '28 days' + interval '1 hour'",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, f"""FROM {_table(Order)} o CROSS JOIN LATERAL (SELECT random() AS r, random() AS r2 WHERE o.id > 0) t
          WHERE o.channel_id = %(channel)s AND mod(o.id - %(first)s, %(every)s) = 0
          ORDER BY o.id LIMIT %(n)s""",
        {**now, "rma": RMA_PREFIX, "channel": channel.pk, "first": first_order, "every": every, "n": scale.returns,
         "snapshot": _json(snapshot)}), ReturnRequest)

    bench_returns = f"FROM {_table(ReturnRequest)} r WHERE starts_with(r.rma_number, %(rma)s)"
    step("return lines", lambda: _insert_select(ReturnLine, {
        "return_request_id": "r.id", "order_line_id": "l.id", "quantity": "1", "reason_id": "%(reason)s",
    }, f"""FROM {_table(ReturnRequest)} r JOIN {_table(OrderLine)} l ON l.order_id = r.order_id
          WHERE starts_with(r.rma_number, %(rma)s)""", {"rma": RMA_PREFIX, "reason": reason.pk}), ReturnLine)

    # A closed return was refunded unless nothing was owed (one in ten here).
    step("refunds", lambda: _insert_select(Refund, {
        "return_request_id": "r.id", "customer_id": "r.customer_id", "method": "'original_payment'",
        "currency": "'USD'", "gross": "25", "net": "25", "idempotency_key": "gen_random_uuid()",
        "status": "CASE WHEN r.status = 'refund_pending' THEN 'pending' ELSE 'completed' END",
        "created_at": "%(now)s", "updated_at": "%(now)s",
    }, f"""{bench_returns} AND (r.status IN ('refund_pending', 'refunded')
                                 OR (r.status = 'closed' AND mod(r.id, 10) <> 0))""",
        {**now, "rma": RMA_PREFIX}), Refund)

    kinds = list(SignalKind.values)
    weights = [DEFAULT_RULES[kind].weight for kind in kinds]
    stages = [STAGE_OF.get(kind, Stage.REQUEST) for kind in kinds]
    pick = f"1 + mod(r.id, {len(kinds)})"
    step("earlier fraud signals", lambda: _insert_select(FraudSignal, {
        "return_request_id": "r.id", "customer_id": "r.customer_id",
        "stage": f"(%(stages)s::text[])[{pick}]", "kind": f"(%(kinds)s::text[])[{pick}]",
        "score_delta": f"(%(weights)s::int[])[{pick}]", "created_at": "%(now)s",
    }, f"{bench_returns} AND random() < %(share)s",
        {**now, "rma": RMA_PREFIX, "stages": stages, "kinds": kinds, "weights": weights, "share": SIGNAL_SHARE}))

    # Settle the tables, so autovacuum's work does not land in the middle of the timings.
    started = time.perf_counter()
    for model in (User, Product, Order, OrderLine, ReturnRequest, ReturnLine, Refund, FraudSignal,
                  CustomerRiskProfile):
        _settle(model)
    progress(f"  {'vacuum and analyze':<24} {'':>10}      in {time.perf_counter() - started:5.1f} s")
    SalesChannel.objects.filter(pk=channel.pk).update(name=SEEDED)


def _number(name: str, select: str, params: dict) -> None:
    """A temporary table numbering the ids `select` returns from 1, to pick rows arithmetically."""
    _execute(f"DROP TABLE IF EXISTS {name}")
    _execute(f"CREATE TEMPORARY TABLE {name} (n integer PRIMARY KEY, id bigint NOT NULL)")
    _execute(f"INSERT INTO {name} (n, id) SELECT row_number() OVER (ORDER BY id), id FROM ({select}) s", params)
    _execute(f"ANALYZE {name}")


def _json(value):
    from django.db.models import JSONField

    return JSONField().get_db_prep_save(value, connection)


# --- measuring ---

def measure_refresh(times: int, progress: Callable[[str], None]) -> list[float]:
    took = []
    for run in range(times):
        started = time.perf_counter()
        written = risk_profiles_refresh()
        took.append(time.perf_counter() - started)
        progress(f"  refresh {run + 1}: {written:,} profiles in {took[-1]:.2f} s")
    return took


def measure_scoring(count: int) -> tuple[list[float], list[int]]:
    """Score `count` generated returns one by one as the request service does, each inside a
    transaction rolled back afterwards so the data stays as seeded."""
    fraud_rules()
    candidates = list(
        ReturnRequest.objects.filter(rma_number__startswith=RMA_PREFIX)
        .exclude(fraud_signals__stage=Stage.REQUEST)
        .order_by("?")
        .values_list("pk", "order_id")[:count])
    amounts = dict(OrderLine.objects.filter(order_id__in=[order_id for _, order_id in candidates])
                   .values_list("order_id", "unit_price"))
    timings, queries = [], []
    for pk, order_id in candidates:
        amount = amounts.get(order_id, Decimal("0"))
        with transaction.atomic():
            # As in the request service: the transaction is open and the return is at hand.
            return_request = ReturnRequest.objects.get(pk=pk)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                fraud_score_request(return_request=return_request, amount=amount)
                timings.append((time.perf_counter() - started) * 1000)
            queries.append(len(captured.captured_queries))
            transaction.set_rollback(True)
    return timings, queries


def run(scale: Scale, *, scorings: int, reseed: bool, keep: bool, progress: Callable[[str], None]) -> Results:
    found = existing_scale()
    seeded = reseed or found != scale or not seeding_finished()
    started = time.perf_counter()
    if seeded:
        if found != Scale(0, 0, 0):
            progress(f"removing an earlier benchmark history ({found.orders:,} orders)")
            remove(progress)
        progress(f"seeding {scale.orders:,} orders, {scale.customers:,} customers, {scale.returns:,} returns")
        seed(scale, progress)
    else:
        progress(f"reusing the benchmark history already seeded ({found.orders:,} orders)")
    seed_seconds = time.perf_counter() - started

    progress("refreshing every risk profile (first run inserts, second updates)")
    refresh_seconds = measure_refresh(2, progress)
    profiles = CustomerRiskProfile.objects.count()
    flagged = CustomerRiskProfile.objects.filter(flagged=True).count()

    progress(f"scoring {scorings:,} returns as at request time")
    timings, queries = measure_scoring(scorings)

    if not keep:
        progress("removing the benchmark history (keep it with --keep)")
        remove(progress)
    return Results(seeded=seeded, seed_seconds=seed_seconds, refresh_seconds=refresh_seconds, profiles=profiles,
                   flagged=flagged, scoring_ms=timings, queries_per_scoring=queries)
