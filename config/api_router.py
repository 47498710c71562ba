"""Every /api/v1/ route in one place."""

from django.urls import path

from core.api.auth_views import CustomerToken
from orders.api import views as orders
from partners.api import views as webhooks
from refunds.api import credit
from refunds.api import views as refunds
from returns.api import events, gifts
from returns.api import views as returns

app_name = "api"
urlpatterns = [
    path("auth/token", CustomerToken.as_view(), name="auth-token"),
    path("orders/<str:external_id>", orders.OrderUpsert.as_view(), name="order-upsert"),
    path("orders/<int:order_id>/returnable", orders.OrderReturnable.as_view(), name="order-returnable"),
    path("orders/<int:order_id>/gift-receipts", gifts.GiftReceiptIssue.as_view(), name="gift-receipt-issue"),
    path("gift-receipts/<int:receipt_id>", gifts.GiftReceiptDetail.as_view(), name="gift-receipt-detail"),
    path("gift-receipts/<int:receipt_id>/pdf", gifts.GiftReceiptPdf.as_view(), name="gift-receipt-pdf"),
    path("returns", returns.ReturnListCreate.as_view(), name="returns"),
    path("returns/quote", returns.ReturnQuote.as_view(), name="return-quote"),
    path("returns/<str:rma>", returns.ReturnDetail.as_view(), name="return-detail"),
    path("returns/<str:rma>/cancel", returns.ReturnCancel.as_view(), name="return-cancel"),
    path("returns/<str:rma>/approve", returns.ReturnApprove.as_view(), name="return-approve"),
    path("returns/<str:rma>/reject", returns.ReturnReject.as_view(), name="return-reject"),
    path("returns/<str:rma>/label", returns.ReturnLabel.as_view(), name="return-label"),
    path("returns/<str:rma>/shipment", returns.ReturnShipment.as_view(), name="return-shipment"),
    path("returns/<str:rma>/inspection", events.ReturnInspection.as_view(), name="return-inspection"),
    path("warehouse/receipts", events.WarehouseReceipts.as_view(), name="warehouse-receipts"),
    path("carrier/events", events.CarrierEvents.as_view(), name="carrier-events"),
    path("carrier/drop-offs", events.DropOffScans.as_view(), name="carrier-drop-offs"),
    path("refunds/<int:refund_id>", refunds.RefundDetail.as_view(), name="refund-detail"),
    path("ledger/entries", refunds.LedgerEntries.as_view(), name="ledger-entries"),
    path("gift-cards/lookup", credit.GiftCardLookup.as_view(), name="gift-card-lookup"),
    path("gift-cards/redeem", credit.GiftCardRedeem.as_view(), name="gift-card-redeem"),
    path("store-credit", credit.MyStoreCredit.as_view(), name="store-credit"),
    path("store-credit/lookup", credit.StoreCreditLookup.as_view(), name="store-credit-lookup"),
    path("store-credit/spend", credit.StoreCreditSpend.as_view(), name="store-credit-spend"),
    path("credit-spendings/<int:spending_id>", credit.CreditSpendingDetail.as_view(),
         name="credit-spending-detail"),
    path("credit-spendings/<int:spending_id>/reverse", credit.CreditSpendingReverse.as_view(),
         name="credit-spending-reverse"),
    path("webhooks", webhooks.WebhookListCreate.as_view(), name="webhooks"),
    path("webhooks/<int:subscription_id>", webhooks.WebhookDetail.as_view(), name="webhook-detail"),
    path("webhooks/<int:subscription_id>/deliveries", webhooks.WebhookDeliveries.as_view(),
         name="webhook-deliveries"),
]
