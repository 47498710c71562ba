from prometheus_client import Histogram

FRAUD_SCORE = Histogram("rma_fraud_score", "Fraud scores (0–100) given to returns, at request and at inspection",
                        ["stage"], buckets=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100))
