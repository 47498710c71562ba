"""OpenAPI links: which answer gives the ids that later calls take.

A partner reading /api/schema/ sees, under each response, the operations it leads to and where
their parameters come from (`$response.body#/rma_number` → the `rma` of `GET /returns/{rma}`).
Links hang on what a response returns: every operation that answers with a return offers the same
next steps. Tools that walk links (schemathesis's stateful run) chain calls the same way.
"""

# What each response leads to, keyed by the response's schema component (or, for a response that
# has none, such as a PDF, by its operation id). A link names its target as "METHOD path" and maps
# the target's parameters (path or query) — or, under "requestBody", fields of its body —
# to runtime expressions. A link to an operation the schema does not have is left out.
RMA = "$response.body#/rma_number"
ORDER = "$response.body#/order_id"
RETURN = {
    "GetReturn": ("GET /api/v1/returns/{rma}", {"rma": RMA}),
    "CancelReturn": ("POST /api/v1/returns/{rma}/cancel", {"rma": RMA}),
    "ApproveReturn": ("POST /api/v1/returns/{rma}/approve", {"rma": RMA}),
    "RejectReturn": ("POST /api/v1/returns/{rma}/reject", {"rma": RMA}),
    "GetLabel": ("GET /api/v1/returns/{rma}/label", {"rma": RMA}),
    "RecordOwnShipment": ("POST /api/v1/returns/{rma}/shipment", {"rma": RMA}),
    "RecordReceipt": ("POST /api/v1/warehouse/receipts", {"requestBody": {"rma_number": RMA}}),
    "RecordInspection": ("POST /api/v1/returns/{rma}/inspection", {"rma": RMA}),
    "RecordCarrierScan": ("POST /api/v1/carrier/events", {"requestBody": {
        "rma_number": RMA, "tracking_number": "$response.body#/tracking_number"}}),
    "GetRefund": ("GET /api/v1/refunds/{refund_id}", {"refund_id": "$response.body#/refund/id"}),
    "GetReturnable": ("GET /api/v1/orders/{order_id}/returnable", {"order_id": ORDER}),
    "ListOrderReturns": ("GET /api/v1/returns", {"order_id": ORDER}),
    "IssueGiftReceipt": ("POST /api/v1/orders/{order_id}/gift-receipts", {"order_id": ORDER}),
    "UpdateOrder": ("PUT /api/v1/orders/{external_id}", {"external_id": "$response.body#/order_external_id"}),
    # A drop-off return's QR code (its label) is what a counter scans and posts here.
    "ScanDropOffCode": ("POST /api/v1/carrier/drop-offs", {}),
}
WEBHOOK = "$response.body#/id"
WEBHOOK_SUBSCRIPTION = {
    "GetWebhook": ("GET /api/v1/webhooks/{subscription_id}", {"subscription_id": WEBHOOK}),
    "UpdateWebhook": ("PATCH /api/v1/webhooks/{subscription_id}", {"subscription_id": WEBHOOK}),
    "DeleteWebhook": ("DELETE /api/v1/webhooks/{subscription_id}", {"subscription_id": WEBHOOK}),
    "ListDeliveries": ("GET /api/v1/webhooks/{subscription_id}/deliveries", {"subscription_id": WEBHOOK}),
}
GIFT_RECEIPT = {
    "GetGiftReceipt": ("GET /api/v1/gift-receipts/{receipt_id}", {"receipt_id": "$response.body#/id"}),
    "PrintGiftReceipt": ("GET /api/v1/gift-receipts/{receipt_id}/pdf", {"receipt_id": "$response.body#/id"}),
}
LINKS = {
    "Return": RETURN,
    "PaginatedReturnList": {
        "GetReturn": ("GET /api/v1/returns/{rma}", {"rma": "$response.body#/results/0/rma_number"})},
    "Quote": {"RequestQuotedReturn": ("POST /api/v1/returns", {"requestBody": "$request.body"})},
    "Order": {
        "GetReturnable": ("GET /api/v1/orders/{order_id}/returnable", {"order_id": "$response.body#/id"}),
        "ListOrderReturns": ("GET /api/v1/returns", {"order_id": "$response.body#/id"}),
        "IssueGiftReceipt": ("POST /api/v1/orders/{order_id}/gift-receipts", {"order_id": "$response.body#/id"}),
        # The order's customer at the checkout: their store credit, looked up and spent by their e-mail.
        "LookUpStoreCredit": ("POST /api/v1/store-credit/lookup",
                              {"requestBody": {"email": "$response.body#/customer_email"}}),
        "SpendStoreCredit": ("POST /api/v1/store-credit/spend",
                             {"requestBody": {"email": "$response.body#/customer_email"}}),
    },
    "Returnable": {
        "QuoteReturn": ("POST /api/v1/returns/quote", {"requestBody": {"order_id": ORDER}}),
        "RequestReturn": ("POST /api/v1/returns", {"requestBody": {"order_id": ORDER}}),
        "IssueGiftReceipt": ("POST /api/v1/orders/{order_id}/gift-receipts", {"order_id": ORDER}),
        "UpdateOrder": ("PUT /api/v1/orders/{external_id}", {"external_id": "$response.body#/external_id"}),
    },
    "GiftReceipt": GIFT_RECEIPT,
    "GiftReceiptWithCode": {"PrintGiftReceipt": GIFT_RECEIPT["PrintGiftReceipt"]},
    "returns_label": {"ScanDropOffCode": RETURN["ScanDropOffCode"]},
    "Refund": {"GetReturn": ("GET /api/v1/returns/{rma}", {"rma": RMA})},
    "PaginatedJournalEntryList": {
        "GetRefund": ("GET /api/v1/refunds/{refund_id}", {"refund_id": "$response.body#/results/0/refund_id"}),
        "GetReturn": ("GET /api/v1/returns/{rma}", {"rma": "$response.body#/results/0/rma_number"}),
    },
    "WebhookSubscriptionCreated": WEBHOOK_SUBSCRIPTION,
    "WebhookSubscription": WEBHOOK_SUBSCRIPTION,
    "PaginatedWebhookSubscriptionList": {
        key: (target, {"subscription_id": "$response.body#/results/0/id"})
        for key, (target, _) in WEBHOOK_SUBSCRIPTION.items()},
    # Credit looked up at checkout is spent with the same code or e-mail; a spending is read and reversed
    # by its id.
    "GiftCard": {
        "RedeemGiftCard": ("POST /api/v1/gift-cards/redeem", {"requestBody": {"code": "$request.body#/code"}})},
    "StoreCredit": {
        "SpendStoreCredit": ("POST /api/v1/store-credit/spend", {"requestBody": {"email": "$request.body#/email"}})},
    "CreditSpending": {
        "GetCreditSpending": ("GET /api/v1/credit-spendings/{spending_id}", {"spending_id": "$response.body#/id"}),
        "ReverseCreditSpending": ("POST /api/v1/credit-spendings/{spending_id}/reverse",
                                  {"spending_id": "$response.body#/id"}),
    },
    # A customer's token (sent as `Authorization: Token <token>`) lists their returns, and revokes itself.
    "TokenResponse": {
        "ListMyReturns": ("GET /api/v1/returns", {}),
        "RevokeToken": ("DELETE /api/v1/auth/token", {}),
        "GetMyStoreCredit": ("GET /api/v1/store-credit", {}),
    },
}


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: the `links` of every success response."""
    operation_ids = {
        f"{method.upper()} {path}": operation["operationId"]
        for path, operations in result["paths"].items() for method, operation in operations.items()}
    for operations in result["paths"].values():
        for operation in operations.values():
            for status_code, response in operation.get("responses", {}).items():
                if not status_code.startswith("2"):
                    continue
                links = {name: _link(operation_ids[target], spec)
                         for name, (target, spec) in LINKS.get(_source(operation, response), {}).items()
                         if target in operation_ids}
                if links:
                    response["links"] = links
    return result


def _source(operation, response) -> str:
    for media in response.get("content", {}).values():
        reference = media.get("schema", {}).get("$ref", "")
        if reference:
            return reference.rsplit("/", 1)[-1]
    return operation["operationId"]


def _link(operation_id: str, spec: dict) -> dict:
    link = {"operationId": operation_id}
    parameters = {name: expression for name, expression in spec.items() if name != "requestBody"}
    if parameters:
        link["parameters"] = parameters
    if "requestBody" in spec:
        link["requestBody"] = spec["requestBody"]
    return link
