"""Reads for scoring, the reviewer and the admin."""

from django.db.models import QuerySet

from fraud.models import CustomerRiskProfile, FraudSignal


def customer_is_flagged(customer) -> bool:
    return CustomerRiskProfile.objects.filter(customer=customer, flagged=True).exists()


def risk_profile(customer) -> CustomerRiskProfile | None:
    return CustomerRiskProfile.objects.filter(customer=customer).first()


def signals_for_return(return_request) -> QuerySet[FraudSignal]:
    """The breakdown a reviewer sees: every signal with its points and evidence, in order."""
    return FraudSignal.objects.filter(return_request=return_request).order_by("created_at", "id")


def score_breakdown(return_request) -> dict[str, list[dict]]:
    """Signals per stage, each as kind, points and evidence."""
    stages: dict[str, list[dict]] = {}
    for signal in signals_for_return(return_request):
        stages.setdefault(signal.stage, []).append(
            {"kind": signal.kind, "label": signal.get_kind_display(), "points": signal.score_delta,
             "evidence": signal.evidence})
    return stages
