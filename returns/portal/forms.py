"""The return wizard's forms: one row per returnable order line, and the return as a whole.

The forms only check the shape of what was typed; eligibility (how many units are left, the
window, the reason list) is the service's, and its violations are put back on these rows.
"""

import uuid

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from returns.choices import RefundMethod, Resolution, ReturnMethod

REFUND_METHOD_CHOICES = [
    (RefundMethod.ORIGINAL_PAYMENT, _("Refund to my original payment method")),
    (RefundMethod.STORE_CREDIT, _("Store credit")),
]
# What the customer may ask for per item; the policy may narrow it (the service says so on the row).
# An exchange is for the same item or another of its kind (`replacement`, the API's `replacement_sku`).
RESOLUTION_CHOICES = [
    (Resolution.REFUND, _("Money back")),
    (Resolution.STORE_CREDIT, _("Store credit, with any bonus")),
    (Resolution.EXCHANGE, _("A replacement")),
]
# Which field of a row a line violation concerns, by its code; the rest go on the row itself.
LINE_FIELD_BY_CODE = {
    "resolution_not_allowed": "resolution",
    "replacement_out_of_stock": "resolution",
    "exchange_needs_payment": "replacement",
    "replacement_not_found": "replacement",
    "replacement_not_offered": "replacement",
    "replacement_needs_exchange": "replacement",
    "invalid_quantity": "quantity",
    "quantity_exceeds_returnable": "quantity",
    "unknown_reason": "reason",
}
REQUEST_FIELD_BY_CODE = {"invalid_refund_method": "refund_method", "invalid_return_method": "return_method",
                         "return_method_not_offered": "return_method"}
ITEMS_CODES = ("no_lines", "duplicate_line")
ROW_FIELDS = ("selected", "quantity", "reason", "resolution", "replacement")


class ReturnLineForm(forms.Form):
    selected = forms.BooleanField(required=False)
    quantity = forms.IntegerField(required=False, min_value=1,
                                  error_messages={"invalid": _("Enter the number of items as a whole number.")})
    reason = forms.ChoiceField(required=False)
    resolution = forms.ChoiceField(required=False, choices=RESOLUTION_CHOICES, initial=Resolution.REFUND,
                                   label=_("What you would like"))
    # A SKU, checked by the service like the API's `replacement_sku`: one that sold out since the page
    # was drawn is quoted as the refund offered instead, not refused as an unknown choice.
    replacement = forms.CharField(required=False, max_length=64, label=_("Replacement"), widget=forms.Select)

    def __init__(self, *args, line: dict, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.order_line = line["order_line"]
        self.fields["quantity"].widget.attrs.update({"min": 1, "max": line["returnable_quantity"],
                                                     "inputmode": "numeric"})
        self.fields["reason"].choices = [("", _("Choose a reason")), *((r.code, r.localized_label) for r in reasons)]
        choices = [("" if option["same"] else option["product"].sku, replacement_label(option, line["currency"]))
                   for option in line.get("replacements", [])] or [("", _("The same item"))]
        asked = self.data.get(self.add_prefix("replacement")) if self.is_bound else None
        if asked and asked not in {value for value, _ in choices}:
            # Keep what the customer chose in view.
            choices.append((asked, gettext("%(sku)s (no longer available)") % {"sku": asked}))
        self.fields["replacement"].widget.choices = choices

    def clean(self):
        data = super().clean()
        if data.get("selected"):
            if data.get("quantity") is None and "quantity" not in self.errors:
                self.add_error("quantity", _("Enter how many you are sending back."))
            if not data.get("reason") and "reason" not in self.errors:
                self.add_error("reason", _("Choose a reason for returning this item."))
        return data

    @property
    def replacement_sku(self) -> str | None:
        """The replacement asked for: None for the same item, or when the row is not an exchange."""
        if self.cleaned_data.get("resolution") != Resolution.EXCHANGE:
            return None
        return self.cleaned_data.get("replacement") or None

    @property
    def anchor(self) -> str:
        """Where the error summary links to: the first field of the row that has an error."""
        for name in ROW_FIELDS[1:]:
            if name in self.errors:
                return self[name].auto_id
        return self["selected"].auto_id


def replacement_label(option: dict, currency: str) -> str:
    """"Shirt Silk M · $43.20 each, $16.20 more to pay": the price difference before the customer asks."""
    from returns.templatetags.portal_tags import money

    name = gettext("The same item") if option["same"] else option["product"].name
    if not option["in_stock"]:
        return gettext("%(name)s (out of stock)") % {"name": name}
    difference = option["difference"]
    price = {"name": name, "price": money(option["unit_total"], currency)}
    if option["same"]:
        return gettext("%(name)s, nothing to pay") % price
    if not difference:
        return gettext("%(name)s · %(price)s each, nothing to pay") % price
    if difference > 0:
        return gettext("%(name)s · %(price)s each, %(amount)s more to pay") % {
            **price, "amount": money(difference, currency)}
    return gettext("%(name)s · %(price)s each, %(amount)s back to you") % {
        **price, "amount": money(-difference, currency)}


class ReturnForm(forms.Form):
    refund_method = forms.ChoiceField(choices=REFUND_METHOD_CHOICES, widget=forms.RadioSelect,
                                      initial=RefundMethod.ORIGINAL_PAYMENT,
                                      error_messages={"required": _("Choose how you would like to be refunded.")})
    # Not required: a form sent without it (an older page) goes the first offered way.
    return_method = forms.ChoiceField(choices=ReturnMethod.choices, widget=forms.RadioSelect, required=False,
                                      initial=ReturnMethod.LABEL)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           label=_("Anything we should know? (optional)"))
    # Identifies one filled-in form, so that sending it twice (a double click, the back button)
    # shows the return it created instead of asking for another.
    submission = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=uuid.uuid4)


class ReturnWizard:
    """Every row of the order (returnable or not) and the return form, bound together."""

    def __init__(self, *, lines: list[dict], reasons, data=None, return_methods: dict | None = None):
        reasons = list(reasons)
        self.form = ReturnForm(data)
        # The methods the order's policies offer, each with its fee (`returns.methods.Offer`).
        self.return_methods = return_methods or {}
        if self.return_methods:
            self.form.fields["return_method"].choices = [
                (method, ReturnMethod(method).label) for method in self.return_methods]
            self.form.fields["return_method"].initial = next(iter(self.return_methods))
        self.rows = []
        for line in lines:
            row = {"line": line, "form": None}
            if line["returnable_quantity"] > 0:
                pk = line["order_line"].pk
                row["form"] = ReturnLineForm(data, prefix=f"line-{pk}", line=line, reasons=reasons,
                                             initial={"quantity": 1})
            self.rows.append(row)
        self.items_errors: list[str] = []
        self.top_errors: list[str] = []
        self._requested: list[ReturnLineForm] = []

    @property
    def line_forms(self) -> list[ReturnLineForm]:
        return [row["form"] for row in self.rows if row["form"] is not None]

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        for form in self.line_forms:
            valid = form.is_valid() and valid
        return valid

    def requested_lines(self) -> list[dict]:
        """The selected rows as the service takes them; the index of each is its `lines[i]`."""
        self._requested = [form for form in self.line_forms if form.cleaned_data.get("selected")]
        return [{"order_line_id": form.order_line.pk, "quantity": form.cleaned_data["quantity"],
                 "reason": form.cleaned_data["reason"],
                 "resolution": form.cleaned_data.get("resolution") or Resolution.REFUND,
                 **({"replacement_sku": form.replacement_sku} if form.replacement_sku else {})}
                for form in self._requested]

    @property
    def requested_forms(self) -> list[ReturnLineForm]:
        return self._requested

    @property
    def refund_method(self) -> str:
        return self.form.cleaned_data["refund_method"]

    @property
    def return_method_choices(self) -> list[dict]:
        """Each return-method radio with its offer (fee and currency)."""
        return [{"radio": radio, "offer": self.return_methods.get(radio.data["value"])}
                for radio in self.form["return_method"]]

    @property
    def return_method(self) -> str:
        return self.form.cleaned_data.get("return_method") or next(iter(self.return_methods), ReturnMethod.LABEL)

    def add_domain_error(self, error: DomainError) -> None:
        """Put each of the service's violations next to the row and field it names."""
        violations = error.violations or []
        if not violations:
            self._add_request_error(error.code, error.message)
        for violation in violations:
            form = self._row_for(violation.field)
            if form is None:
                self._add_request_error(violation.code, violation.message)
            else:
                form.add_error(LINE_FIELD_BY_CODE.get(violation.code), violation.message)

    def _row_for(self, field: str | None) -> ReturnLineForm | None:
        if not field or not field.startswith("lines[") or not field.endswith("]"):
            return None
        index = field[len("lines["):-1]
        if not index.isdigit() or int(index) >= len(self._requested):
            return None
        return self._requested[int(index)]

    def _add_request_error(self, code: str, message: str) -> None:
        if code in REQUEST_FIELD_BY_CODE:
            self.form.add_error(REQUEST_FIELD_BY_CODE[code], message)
        elif code in ITEMS_CODES:
            self.items_errors.append(message)
        else:
            self.top_errors.append(message)

    def error_summary(self) -> list[dict]:
        """Every error with a link to the field it concerns, for the summary at the top of the page."""
        summary = [{"anchor": "main", "message": message} for message in self.top_errors]
        summary += [{"anchor": "items", "message": message} for message in self.items_errors]
        for form in self.line_forms:
            name = form.order_line.product.name
            for message in [*form.non_field_errors(), *(e for f in ROW_FIELDS for e in form.errors.get(f, []))]:
                summary.append({"anchor": form.anchor,
                                "message": message if name in message else f"{name}: {message}"})
        for field in ("refund_method", "return_method", "note"):
            for message in self.form.errors.get(field, []):
                summary.append({"anchor": self._field_anchor(field), "message": message})
        return summary

    def _field_anchor(self, field: str) -> str:
        bound = self.form[field]
        return f"{bound.auto_id}_0" if field in ("refund_method", "return_method") else bound.auto_id


class ShipmentForm(forms.Form):
    """An own shipment's carrier and tracking number; the service checks them."""

    carrier = forms.CharField(max_length=50, label="Carrier")
    tracking_number = forms.CharField(max_length=64, label="Tracking number")


class CancelForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             label=_("Why are you cancelling? (optional)"))
