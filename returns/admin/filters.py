"""The review queue's filters. Each asks returns.backoffice for its queryset."""

from django.contrib import admin

from returns import backoffice
from returns.choices import ReturnStatus, ReviewMode


class QueueStatusFilter(admin.SimpleListFilter):
    """Status, opening on "needs review": the queue is what staff come for. "All" shows every return."""

    title = "status"
    parameter_name = "status"
    ALL = "all"
    DEFAULT = ReturnStatus.REQUESTED

    def lookups(self, request, model_admin):
        return [(ReturnStatus.REQUESTED.value, "Needs review"),
                *[(value, label) for value, label in ReturnStatus.choices if value != ReturnStatus.REQUESTED]]

    def value(self):
        return super().value() or self.DEFAULT

    def queryset(self, request, queryset):
        value = self.value()
        if value in ReturnStatus.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist):
        value = self.value()
        yield {"selected": value == self.ALL, "display": "All",
               "query_string": changelist.get_query_string({self.parameter_name: self.ALL})}
        for lookup, title in self.lookup_choices:
            yield {"selected": value == lookup,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup}), "display": title}


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return backoffice.reasons()

    def queryset(self, request, queryset):
        return backoffice.with_reason(queryset, self.value()) if self.value() else queryset


class FraudBandFilter(admin.SimpleListFilter):
    title = "fraud score"
    parameter_name = "fraud"

    def lookups(self, request, model_admin):
        bands = [(band, label) for band, (label, _, _) in backoffice.fraud_bands().items()]
        return [*bands, ("unscored", "Not scored")]

    def queryset(self, request, queryset):
        value = self.value()
        if value in (*backoffice.fraud_bands(), "unscored"):
            return backoffice.with_fraud_band(queryset, value)
        return queryset


class CategoryFilter(admin.SimpleListFilter):
    title = "product category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return [(category, category.replace("_", " ").capitalize()) for category in backoffice.product_categories()]

    def queryset(self, request, queryset):
        return backoffice.in_category(queryset, self.value()) if self.value() else queryset


class ReviewModeFilter(admin.SimpleListFilter):
    title = "review mode"
    parameter_name = "review_mode"

    def lookups(self, request, model_admin):
        return ReviewMode.choices

    def queryset(self, request, queryset):
        value = self.value()
        return backoffice.with_review_mode(queryset, value) if value in ReviewMode.values else queryset


class WaitingBecauseFilter(admin.SimpleListFilter):
    title = "waiting because"
    parameter_name = "held_for"

    def lookups(self, request, model_admin):
        return list(backoffice.REVIEW_REASON_LABELS.items())

    def queryset(self, request, queryset):
        value = self.value()
        return backoffice.waiting_because(queryset, value) if value in backoffice.REVIEW_REASON_LABELS else queryset
