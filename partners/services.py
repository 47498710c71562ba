from django.contrib.auth import get_user_model
from django.db import transaction

from core.errors import ErrorList
from orders.models import SalesChannel
from partners.models import SCOPES, Partner, PartnerAPIKey, PartnerKind


@transaction.atomic
def partner_key_create(*, partner_slug: str, channel_code: str, scopes: list[str], name: str = "",
                       partner_name: str = "", kind: str = PartnerKind.MERCHANT_TOOL) -> tuple[PartnerAPIKey, str]:
    """Create a key (and the partner, the first time). The clear key is returned once, never stored."""
    errors = ErrorList()
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        errors.add("unknown_scope", f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(SCOPES)}.", "scopes")
    if not scopes:
        errors.add("no_scopes", "Give the key at least one scope.", "scopes")
    channel = SalesChannel.objects.filter(code=channel_code).first()
    if channel is None:
        errors.add("unknown_channel", f"No sales channel {channel_code!r}.", "channel")
    if kind not in PartnerKind.values:
        errors.add("unknown_kind", f"Kind must be one of {', '.join(PartnerKind.values)}.", "kind")
    errors.raise_if_any()
    partner = Partner.objects.filter(slug=partner_slug).first()
    if partner is None:
        service_user = get_user_model()(username=f"partner:{partner_slug}"[:150])
        service_user.set_unusable_password()
        service_user.save()
        partner = Partner.objects.create(slug=partner_slug, name=partner_name or partner_slug, kind=kind,
                                         service_user=service_user)
    return PartnerAPIKey.objects.create_key(partner=partner, channel=channel, scopes=sorted(set(scopes)),
                                            name=name or f"{partner_slug} key")
