"""Reads for scoring, the reviewer and the admin."""

from django.db.models import QuerySet

from fraud.models import CustomerRiskProfile, FraudSignal


def customer_is_flagged(customer) -> bool:
    return CustomerRiskProfile.objects.filter(customer=customer, flagged=True).exists()


def risk_profile(customer) -> CustomerRiskProfile | None:
    return CustomerRiskProfile.objects.filter(customer=customer).first()


def customer_is_trusted(customer) -> bool:
    """A customer we may send an exchange's replacement before their parcel arrives: known to us
    (a computed profile with enough orders), never flagged, with few fraud points over all their
    returns (settings.RETURNS["TRUSTED_MAX_LIFETIME_SCORE"], "TRUSTED_MIN_ORDERS")."""
    from django.conf import settings

    config = settings.RETURNS
    return CustomerRiskProfile.objects.filter(
        customer=customer, flagged=False, refreshed_at__isnull=False,
        lifetime_score__lte=config["TRUSTED_MAX_LIFETIME_SCORE"],
        lifetime_orders__gte=config["TRUSTED_MIN_ORDERS"]).exists()


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
