"""Warehouse and carrier webhooks: accepted at once (202), processed by Celery, once, in any order."""

import uuid

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.actors import PartnerActor
from core.api import schema
from core.api.serializers import StrictSerializer
from core.api.views import ApiView
from core.errors import NotFound, PermissionDenied
from returns import selectors
from returns.api.views import visible_return
from returns.choices import Condition, InboundEventKind, InboundEventSource
from returns.inbound import event_accept
from returns.methods import verify_drop_off_token


class ReceiptInput(StrictSerializer):
    event_id = serializers.CharField(max_length=150, required=False,
                                     help_text="Your id for this event; the same id twice is processed once. "
                                               "Defaults to the Idempotency-Key.")
    rma_number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    received_quantities = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=100_000),
                                                required=False, help_text="Return line id → units that arrived; "
                                                                          "lines not named arrived complete.")
    contents_note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class LineInspectionInput(StrictSerializer):
    condition = serializers.ChoiceField(choices=Condition.choices)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class InspectionInput(StrictSerializer):
    event_id = serializers.CharField(max_length=150, required=False)
    lines = serializers.DictField(child=LineInspectionInput(), allow_empty=False,
                                  help_text="Return line id → its condition and notes.")


class CarrierEventInput(StrictSerializer):
    event_id = serializers.CharField(max_length=150, required=False)
    tracking_number = serializers.CharField(max_length=64)
    rma_number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False)


class DropOffScanInput(StrictSerializer):
    event_id = serializers.CharField(max_length=150, required=False)
    code = serializers.CharField(max_length=500, help_text="The text of the QR code the customer showed.")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                     help_text="The drop-off point, for the record.")


class AcceptedSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField(help_text="pending, waiting, processed or failed.")
    duplicate = serializers.BooleanField(help_text="True when this event id was already accepted.")


class _EventView(ApiView):
    allowed_callers = ("partner", "staff")
    source = ""
    kind = ""

    @staticmethod
    def check_caller(request) -> None:
        user = request.user
        if not isinstance(user, PartnerActor) and not user.has_perm("returns.receive_returnrequest"):
            raise PermissionDenied("Only the warehouse may post these events.")

    def accept(self, request, payload: dict, event_id: str | None) -> Response:
        user = request.user
        self.check_caller(request)
        caller = user.partner.slug if isinstance(user, PartnerActor) else f"user-{user.pk}"
        own_id = event_id or request.META.get("HTTP_IDEMPOTENCY_KEY") or uuid.uuid4().hex
        event, created = event_accept(source=self.source, external_id=f"{caller}:{own_id}"[:200], kind=self.kind,
                                      payload=payload)
        event.refresh_from_db()
        body = {"event_id": own_id, "kind": event.kind, "status": event.status, "duplicate": not created}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def check_reachable(request, rma_number: str, tracking_number: str = "") -> None:
        """A partner may only act on its channel's returns; an unknown parcel is still accepted."""
        pk = selectors.return_for_parcel(rma_number=rma_number, tracking_number=tracking_number)
        if pk is not None and not selectors.returns_visible_to(request.user).filter(pk=pk).exists():
            raise NotFound("No such return.", code="return_not_found")


ACCEPTED = {202: AcceptedSerializer}


class WarehouseReceipts(_EventView):
    required_scopes = {"POST": "warehouse:write"}
    source, kind = InboundEventSource.WAREHOUSE, InboundEventKind.PARCEL_RECEIVED

    @extend_schema(
        operation_id="warehouse_receipts", summary="A parcel arrived at the warehouse",
        description="Matched by RMA number, else by tracking number; a parcel matching no return goes to the "
                    "unmatched-parcels queue for staff. Processed asynchronously.",
        request=ReceiptInput, parameters=[schema.IDEMPOTENCY_KEY],
        examples=[OpenApiExample("Short shipment", request_only=True, value={
            "event_id": "wh-778", "rma_number": "RMA-7K2M-9QXD", "received_quantities": {"311": 1}})],
        responses=schema.writes({**ACCEPTED, 404: schema.NOT_FOUND,
                                 409: ("This event id was used for another event.", "event_id_reused")}))
    def post(self, request):
        serializer = ReceiptInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        self.check_reachable(request, data["rma_number"], data["tracking_number"])
        return self.accept(request, {k: v for k, v in data.items() if k != "event_id"}, data.get("event_id"))


class ReturnInspection(_EventView):
    required_scopes = {"POST": "warehouse:write"}
    source, kind = InboundEventSource.WAREHOUSE, InboundEventKind.INSPECTION

    @extend_schema(
        operation_id="returns_inspection", summary="Record the condition of each returned line",
        description="Accepted at once and processed by a worker; an inspection that arrives before the receipt "
                    "waits for it. When every line is inspected the refund starts.",
        request=InspectionInput, parameters=[schema.IDEMPOTENCY_KEY],
        examples=[OpenApiExample("Both lines", request_only=True, value={
            "event_id": "insp-52", "lines": {"311": {"condition": "like_new"}, "312": {"condition": "damaged",
                                                                                      "notes": "Cracked lid"}}})],
        responses=schema.writes({**ACCEPTED, 404: schema.NOT_FOUND,
                                 409: ("This event id was used for another event.", "event_id_reused")}))
    def post(self, request, rma: str):
        found = visible_return(request, rma)
        serializer = InspectionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payload = {"rma_number": found.rma_number, "inspections": data["lines"]}
        return self.accept(request, payload, data.get("event_id"))


class CarrierEvents(_EventView):
    required_scopes = {"POST": "carrier:write"}
    source, kind = InboundEventSource.CARRIER, InboundEventKind.CARRIER_SCAN

    @extend_schema(
        operation_id="carrier_events", summary="A tracking scan of a return parcel",
        description="The first scan moves the return to in transit; later or late scans change nothing.",
        request=CarrierEventInput, parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({**ACCEPTED, 404: schema.NOT_FOUND,
                                 409: ("This event id was used for another event.", "event_id_reused")}))
    def post(self, request):
        serializer = CarrierEventInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        self.check_reachable(request, data["rma_number"], data["tracking_number"])
        if not selectors.return_for_parcel(rma_number=data["rma_number"], tracking_number=data["tracking_number"]):
            raise NotFound("No return has this tracking or RMA number.", code="return_not_found")
        payload = {k: v for k, v in data.items() if k != "event_id"}
        return self.accept(request, payload, data.get("event_id"))


class DropOffScans(_EventView):
    required_scopes = {"POST": "carrier:write"}
    source, kind = InboundEventSource.CARRIER, InboundEventKind.DROP_OFF_SCAN

    @extend_schema(
        operation_id="carrier_drop_offs", summary="A drop-off counter scanned a customer's QR code",
        description="The code is checked at once: a code we did not sign, or one for a return that is not a "
                    "drop-off, is refused with `drop_off_code_invalid`; one past the return's hand-in deadline with "
                    "`drop_off_code_expired`. An accepted scan is the carrier's first scan (the return goes in "
                    "transit); scanning the same code again changes nothing.",
        request=DropOffScanInput, parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({**ACCEPTED, 404: schema.NOT_FOUND,
                                 409: ("This event id was used for another event.", "event_id_reused"),
                                 422: ("The code is not valid or has expired.", "drop_off_code_invalid",
                                       "drop_off_code_expired")}))
    def post(self, request):
        serializer = DropOffScanInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        self.check_caller(request)
        rma_number = verify_drop_off_token(data["code"])
        self.check_reachable(request, rma_number)
        payload = {k: v for k, v in data.items() if k != "event_id"}
        return self.accept(request, payload, data.get("event_id"))
