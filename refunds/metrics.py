from prometheus_client import Counter, Histogram

REFUNDS_TOTAL = Counter("rma_refunds_total", "Refunds paid, by method", ["method"])
REFUND_AMOUNT = Histogram("rma_refund_amount", "Refund amounts paid, in the refund's currency", ["currency"],
                          buckets=(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000))
GATEWAY_LATENCY = Histogram("rma_gateway_latency_seconds", "Payment gateway refund call latency", ["gateway"],
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
GATEWAY_FAILURES = Counter("rma_gateway_failures_total", "Failed gateway refund calls", ["gateway", "code"])
REFUNDS_NEEDING_ATTENTION = Counter("rma_refunds_needing_attention_total",
                                    "Refunds handed to finance after retries ran out or a hard decline", ["code"])
RMA_RESOLUTIONS = Counter("rma_resolutions_total",
                          "Returned lines by the resolution asked for (refund, exchange, store_credit), and goodwill "
                          "grants (goodwill)", ["resolution"])
EARLY_REFUNDS = Counter("rma_early_refunds_total", "Refunds issued before inspection, by when they fell due",
                        ["timing"])
EARLY_REFUND_RECOVERIES = Counter("rma_early_refund_recoveries_total",
                                  "Early refunds found unearned and booked as a receivable, by cause", ["cause"])
