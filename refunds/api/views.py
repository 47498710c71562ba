from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response

from core.api import schema
from core.api.pagination import Cursor
from core.api.views import ApiView
from core.errors import NotFound
from refunds import selectors
from refunds.api.serializers import JournalEntrySerializer, RefundSerializer
from refunds.choices import EntryKind


class RefundDetail(ApiView):
    required_scopes = {"GET": "finance:read"}

    @extend_schema(operation_id="refunds_retrieve", summary="A refund with its gateway attempts",
                   responses={200: RefundSerializer, 404: schema.NOT_FOUND, **schema.COMMON})
    def get(self, request, refund_id: int):
        refund = selectors.refunds_visible_to(request.user).filter(pk=refund_id).first()
        if refund is None:
            raise NotFound("No such refund.", code="refund_not_found")
        return Response(RefundSerializer(refund).data)


class LedgerEntries(ApiView):
    required_scopes = {"GET": "finance:read"}
    allowed_callers = ("partner", "staff")

    @extend_schema(
        operation_id="ledger_entries", summary="Journal entries, newest first",
        parameters=[OpenApiParameter("kind", str, enum=EntryKind.values),
                    OpenApiParameter("page_size", int, description="Up to 100; 25 by default."),
                    OpenApiParameter("cursor", str)],
        responses={200: schema.page_of(JournalEntrySerializer), **schema.COMMON})
    def get(self, request):
        entries = selectors.journal_entries_visible_to(request.user)
        kind = request.query_params.get("kind")
        if kind:
            if kind not in EntryKind.values:
                raise ValidationError({"kind": [ErrorDetail(f"Unknown kind {kind!r}.", code="invalid_choice")]})
            entries = entries.filter(kind=kind)
        paginator = Cursor()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(JournalEntrySerializer(page, many=True).data)
