import json
import logging
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from benchmarks import profile, seed, stages


class Command(BaseCommand):
    help = ("Run return requests in this process through the API (POST /api/v1/returns, the whole Django stack) "
            "on freshly seeded orders and print the queries per request (by kind, the statements repeated) and "
            "where the CPU time goes. Run with DJANGO_SETTINGS_MODULE=config.settings.bench: the production "
            "settings, in the bench database. Adds its own orders and returns; deletes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=200, help="Requests timed for the CPU split.")
        parser.add_argument("--query-requests", type=int, default=5, help="Requests whose queries are counted.")
        parser.add_argument("--lines", type=int, default=1, help="Lines per return (1 to 5).")
        parser.add_argument("--quiet-logs", action="store_true",
                            help="Leave out the application's INFO log lines (and their cost).")

    def handle(self, *args, **options):
        if "benchmarks" not in settings.INSTALLED_APPS:
            raise CommandError("Run with DJANGO_SETTINGS_MODULE=config.settings.bench.")
        lines = options["lines"]
        if not 1 <= lines <= 5 or options["requests"] < 1 or options["query_requests"] < 1:
            raise CommandError("--lines is 1 to 5; --requests and --query-requests at least 1.")
        if options["quiet_logs"]:
            for name in ("fraud", "returns", "refunds", "partners", "notifications", "audit", "celery", "kombu"):
                logging.getLogger(name).setLevel(logging.WARNING)
        call_command("migrate", verbosity=0)
        needed = options["requests"] + options["query_requests"] + 1
        code = f"rp-{time.time_ns():x}"  # a channel (and usernames) of this run's own
        orders = seed.seed_api_orders(code, orders=needed, lines=5, progress=lambda _line: None)
        bodies = stages._bodies(orders, lines)
        client = Client()

        def send(n: int) -> None:
            authorization, body = bodies[n]
            response = client.post("/api/v1/returns", json.dumps(body), content_type="application/json",
                                   HTTP_AUTHORIZATION=authorization)
            if response.status_code != 201:
                raise CommandError(f"request {n} answered {response.status_code}: {response.content[:300]!r}")

        result = profile.profile_requests(send, requests=options["requests"],
                                          query_requests=options["query_requests"])
        self.stdout.write(f"POST /api/v1/returns, {lines} line(s) per return")
        for line in profile.report(result):
            self.stdout.write(line)
