from celery import shared_task


@shared_task(acks_late=True)
def refresh_risk_profiles() -> int:
    """Recompute every customer's risk profile; the beat schedule runs it."""
    from fraud.services import risk_profiles_refresh

    return risk_profiles_refresh()
