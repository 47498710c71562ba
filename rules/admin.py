"""Return rules in the back-office: versions with their rules (edited only as drafts, through
the services), the built-in rules read-only, backtests with a chart, block and allow lists."""

import json

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin_tools import call_service, posted
from core.errors import DomainError
from returns.admin import charts
from rules import backtest, builtins, engine, services
from rules.choices import VersionStatus
from rules.models import ListEntry, Rule, RuleSetVersion


class RuleForm(forms.ModelForm):
    """The rule as JSON, checked by the engine's validation: every problem with its code."""

    condition = forms.JSONField(help_text='e.g. {"all": [{"field": "return_reason", "op": "eq", "value": '
                                          '"wrong_size"}, {"field": "customer_risk_score", "op": "lt", "value": 30}]}')
    outcome = forms.JSONField(help_text='e.g. {"type": "bonus_credit", "percent": "10"}; see docs/rules.md')

    class Meta:
        model = Rule
        fields = ("priority", "name", "enabled", "condition", "outcome")

    def clean(self):
        cleaned = super().clean()
        if "condition" in cleaned and "outcome" in cleaned:
            try:
                engine.validate_rule(cleaned["condition"], cleaned["outcome"])
            except DomainError as error:
                raise forms.ValidationError([f"{v.code}: {v.field}: {v.message}" for v in error.violations]) \
                    from error
        return cleaned


class RuleInline(admin.StackedInline):
    model = Rule
    form = RuleForm
    extra = 0
    readonly_fields = ("summary",)

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("priority", "id")

    def _draft_editor(self, request, obj) -> bool:
        return obj is not None and obj.status == VersionStatus.DRAFT and request.user.has_perm("rules.change_rule")

    def has_add_permission(self, request, obj=None):
        return self._draft_editor(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft_editor(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft_editor(request, obj) and request.user.has_perm("rules.delete_rule")

    @admin.display(description="reads as")
    def summary(self, rule: Rule) -> str:
        try:
            engine.validate_rule(rule.condition, rule.outcome)
        except DomainError:
            return "—"  # being corrected: the form shows what is wrong
        return engine.describe(rule.pk, rule.condition, rule.outcome).replace(" matched:", ":")


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "rule_count", "published_at", "published_by", "backtest_column")
    list_filter = ("status",)
    fields = ("number", "status", "notes", "based_on", "created_by", "published_at", "published_by", "builtin_rules")
    readonly_fields = ("number", "status", "based_on", "created_by", "published_at", "published_by", "builtin_rules")
    inlines = [RuleInline]
    change_form_template = "admin/rules/rulesetversion/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("published_by").annotate(rule_total=Count("rules"))

    def has_add_permission(self, request):
        return False  # a draft is made from a version, with the button on its page

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != VersionStatus.DRAFT:
            return False
        return request.user.has_perm("rules.change_rulesetversion")

    def has_delete_permission(self, request, obj=None):
        return False  # returns point at versions; a draft is archived instead

    @admin.display(description="rules")
    def rule_count(self, obj) -> int:
        return obj.rule_total

    @admin.display(description="last backtest")
    def backtest_column(self, obj) -> str:
        report = obj.last_backtest or {}
        if not report:
            return "—"
        return f"{report['changed']} of {report['returns']} changed over {report['days']} days"

    @admin.display(description="built-in rules (read-only)")
    def builtin_rules(self, obj) -> str:
        return format_html('<table class="builtin-rules"><thead><tr><th>stage</th><th>rule</th><th>codes</th>'
                           '</tr></thead><tbody>{}</tbody></table>',
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                                            ((b.stage, b.description, ", ".join(b.codes))
                                             for b in builtins.catalogue())))

    def save_model(self, request, obj, form, change):
        obj._history_user, obj._change_reason = request.user, "notes edited"
        obj.save(update_fields=["notes", "updated_at"])

    def save_formset(self, request, form, formset, change):
        """Rules are written by the services, which check the draft, the permission and the rule."""
        version = form.instance
        # What the admin's change message reads, as formset.save() would have set it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for deleted in formset.deleted_forms:
            if deleted.instance.pk:
                services.rule_delete(by=request.user, rule=deleted.instance)
                formset.deleted_objects.append(deleted.instance)
        for rule_form in formset.forms:
            if not rule_form.has_changed() or rule_form in formset.deleted_forms:
                continue
            data = rule_form.cleaned_data
            existing = rule_form.instance if rule_form.instance.pk else None
            saved = services.rule_save(by=request.user, version=version, rule=existing, priority=data["priority"],
                                       name=data["name"], enabled=data["enabled"], condition=data["condition"],
                                       outcome=data["outcome"])
            if existing is None:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, rule_form.changed_data))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            user = request.user
            context.update({
                "may_draft": user.has_perm("rules.add_rulesetversion") and obj.status != VersionStatus.ARCHIVED,
                "may_publish": obj.status == VersionStatus.DRAFT and user.has_perm("rules.publish_rulesetversion"),
                "may_backtest": obj.status == VersionStatus.DRAFT and user.has_perm("rules.change_rulesetversion"),
            })
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        urls = [
            path("<path:object_id>/draft/", self.admin_site.admin_view(self.draft_view), name="rules_version_draft"),
            path("<path:object_id>/publish/", self.admin_site.admin_view(self.publish_view),
                 name="rules_version_publish"),
            path("<path:object_id>/archive/", self.admin_site.admin_view(self.archive_view),
                 name="rules_version_archive"),
            path("<path:object_id>/backtest/", self.admin_site.admin_view(self.backtest_view),
                 name="rules_version_backtest"),
        ]
        return urls + super().get_urls()

    def _version(self, request, object_id) -> RuleSetVersion:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such version.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _page(self, obj) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:rules_rulesetversion_change", args=[obj.pk]))

    def _confirm(self, request, obj, *, action: str, run, success: str):
        if request.method == "POST":
            done, result = call_service(request, run, by=request.user, success=success)
            return self._page(result if done and isinstance(result, RuleSetVersion) else obj)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": obj, "action": action,
                   "title": f"{action}: {obj}"}
        return TemplateResponse(request, "admin/rules/rulesetversion/confirm.html", context)

    def draft_view(self, request, object_id):
        obj = self._version(request, object_id)
        return self._confirm(request, obj, action="New draft from this version",
                             run=lambda by: services.ruleset_draft_create(by=by, based_on=obj),
                             success="Draft created: edit its rules, backtest it, then publish it.")

    def publish_view(self, request, object_id):
        obj = self._version(request, object_id)
        return self._confirm(request, obj, action="Publish",
                             run=lambda by: services.ruleset_publish(by=by, version=obj),
                             success=f"{obj} published: new returns are decided by it.")

    def archive_view(self, request, object_id):
        obj = self._version(request, object_id)
        return self._confirm(request, obj, action="Archive", success=f"{obj} archived.",
                             run=lambda by: services.ruleset_archive(by=by, version=obj))

    def backtest_view(self, request, object_id):
        """GET: the last report (with its chart) and the form. POST: run it on the last N days."""
        obj = self._version(request, object_id)
        form = BacktestForm(posted(request))
        if request.method == "POST":
            if not request.user.has_perm("rules.change_rulesetversion"):
                raise PermissionDenied
            if form.is_valid():
                report = backtest.run(obj, days=form.cleaned_data["days"]).as_dict()
                services.ruleset_record_backtest(version_id=obj.pk, report=report)
                return HttpResponseRedirect(reverse("admin:rules_version_backtest", args=[obj.pk]))
        report = obj.last_backtest or None
        chart = None
        if report:
            days, counts = backtest.chart_days(report)
            chart = charts.stacked_bars(days, counts, order=["unchanged", "changed"],
                                        labels={"unchanged": "unchanged", "changed": "changed by this draft"})
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": obj, "form": form,
                   "report": report, "chart": chart, "title": f"Backtest {obj}",
                   "examples": [{**example, "before_json": json.dumps(example["before"], sort_keys=True),
                                 "after_json": json.dumps(example["after"], sort_keys=True)}
                                for example in (report or {}).get("examples", [])]}
        return TemplateResponse(request, "admin/rules/rulesetversion/backtest.html", context)


class BacktestForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=365, initial=30, help_text="Returns requested in the last N days.")


@admin.register(ListEntry)
class ListEntryAdmin(admin.ModelAdmin):
    list_display = ("kind", "key", "value", "note", "created_at")
    list_filter = ("kind", "key")
    search_fields = ("value",)
    fields = ("kind", "key", "value", "note")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # add or remove, never rewrite

    def save_model(self, request, obj, form, change):
        saved = services.list_entry_add(by=request.user, kind=obj.kind, key=obj.key, value=obj.value, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.list_entry_remove(by=request.user, entry=obj)

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            services.list_entry_remove(by=request.user, entry=entry)
