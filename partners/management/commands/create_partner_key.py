from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from partners.models import SCOPES, PartnerKind
from partners.services import partner_key_create


class Command(BaseCommand):
    help = "Create an API key for a partner (created if new), bound to a sales channel and scopes. " \
           "The key is printed once and only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("partner", help="partner slug, e.g. acme-oms")
        parser.add_argument("--channel", required=True, help="sales channel code, e.g. web")
        parser.add_argument("--scopes", required=True, help=f"comma-separated: {', '.join(SCOPES)}")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument("--kind", default=PartnerKind.MERCHANT_TOOL, choices=PartnerKind.values)

    def handle(self, *args, **options):
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            api_key, key = partner_key_create(partner_slug=options["partner"], channel_code=options["channel"],
                                              scopes=scopes, name=options["name"], kind=options["kind"])
        except DomainError as exc:
            raise CommandError("; ".join(v.message for v in exc.violations) or exc.message) from exc
        self.stdout.write(f"partner {api_key.partner.slug}, channel {api_key.channel.code}, "
                          f"scopes {', '.join(api_key.scopes)}")
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(key)
