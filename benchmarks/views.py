"""A bare DRF endpoint that writes what a return request writes, and nothing else.

Same authentication (a customer's token), same JSON body, same rows: the return, its lines and its
history row, in one transaction. No eligibility, no row lock, no fraud scoring, no review rules, no
label task, no idempotency store, no throttle: the floor that `POST /api/v1/returns` is compared with.
"""

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.authentication import CustomerTokenAuthentication
from orders.models import OrderLine
from returns.models import ReturnLine, ReturnReason, ReturnRequest
from returns.rma import new_rma_number


class _Line(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.SlugField()


class _Body(serializers.Serializer):
    order_id = serializers.IntegerField()
    lines = _Line(many=True)


class BareReturnCreate(APIView):
    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = []

    def post(self, request):
        body = _Body(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        reasons = {reason.code: reason.pk for reason in ReturnReason.objects.all()}
        order_lines = OrderLine.objects.filter(order_id=data["order_id"],
                                               pk__in=[line["order_line_id"] for line in data["lines"]])
        known = set(order_lines.values_list("pk", flat=True))
        now = timezone.now()
        with transaction.atomic():
            created = ReturnRequest(rma_number=new_rma_number(), order_id=data["order_id"], customer=request.user,
                                    authorized_at=now)
            created.save()
            ReturnLine.objects.bulk_create([
                ReturnLine(return_request=created, order_line_id=line["order_line_id"], quantity=line["quantity"],
                           reason_id=reasons[line["reason"]])
                for line in data["lines"] if line["order_line_id"] in known])
        return Response({"rma_number": created.rma_number, "status": created.status}, status=status.HTTP_201_CREATED)
