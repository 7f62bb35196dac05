from django import forms
from django.utils.translation import gettext_lazy as _

from wuye.estates.ledgers import LedgerKind


class LedgerImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Ledger"), choices=LedgerKind.choices)
    file = forms.FileField(label=_("File (CSV or Excel .xlsx)"))
    dry_run = forms.BooleanField(label=_("Only check, write nothing"), required=False)
