from django import forms

from returns.choices import Condition


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=2000)

    def __init__(self, *args, required: bool = False, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        self.fields["reason"].help_text = help_text


class CorrectInspectionForm(forms.Form):
    condition = forms.ChoiceField(choices=Condition.choices)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=2000,
                            help_text="Why the first inspection was wrong; kept with the new revision.")


class LinkParcelForm(forms.Form):
    rma_number = forms.CharField(label="RMA number", max_length=40,
                                 help_text="The return this parcel belongs to; it is received against it.")
