"""The actions on a case page: one small form each, calling the service that does the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from complaints import services
from complaints.admin.common import handlers
from complaints.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseStatus,
    Outcome,
    ReplyTemplate,
)
from config.errors import Conflict
from liverooms.models import LiveSession

# --- Case actions -------------------------------------------------------------------------------


class MessageForm(forms.Form):
    message = forms.CharField(
        label=_("message to the consumer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class RequiredMessageForm(forms.Form):
    message = forms.CharField(
        label=_("what the consumer should add"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class WithdrawalForm(forms.Form):
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label=_("how and when the consumer withdrew"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
    )


class NotAcceptForm(forms.Form):
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label=_("reason, told to the consumer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("internal note (never shown to the consumer)"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class EmptyForm(forms.Form):
    pass


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("reviewer"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("— nobody (back to the new queue) —"),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        load = services.open_load()
        field = self.fields["assignee"]
        field.queryset = handlers()
        field.initial = case.assignee_id
        # The load beside each name is what a lead balances by.
        field.label_from_instance = lambda user: (
            _("%(name)s (%(n)d open)")
            % {
                "name": user.get_username(),
                "n": load.get(user.pk, 0),
            }
        )


class ReplyForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("standard reply"),
        queryset=ReplyTemplate.objects.none(),
        required=False,
        help_text=_(
            "Insert its text to edit it first, or send it as it is (in the consumer's language)."
        ),
    )
    text = forms.CharField(
        label=_("reply to the consumer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"}),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["template"].queryset = ReplyTemplate.objects.filter(is_active=True).filter(
            Q(kind="") | Q(kind=case.kind)
        )
        language = dict(settings.LANGUAGES).get(case.language, case.language)
        self.fields["text"].help_text = _("The consumer reads %(language)s.") % {
            "language": language
        }

    def reply_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        template = self.cleaned_data["template"]
        if not text and template is not None:
            return template.body_for(self.case.language)
        return text


class LinkForm(forms.Form):
    # Found by searching the registry (the admin's autocomplete), never by typing an id.
    merchant = forms.ModelChoiceField(
        label=_("merchant"),
        queryset=Party.objects.filter(kind=PartyKind.MERCHANT),
        required=False,
        widget=AutocompleteSelect(Case._meta.get_field("merchant"), admin.site),
    )
    anchor = forms.ModelChoiceField(
        label=_("anchor"),
        queryset=Party.objects.filter(kind=PartyKind.ANCHOR),
        required=False,
        widget=AutocompleteSelect(Case._meta.get_field("anchor"), admin.site),
    )
    session = forms.ModelChoiceField(
        label=_("live session"),
        queryset=LiveSession.objects.select_related("room"),
        required=False,
        widget=AutocompleteSelect(Case._meta.get_field("session"), admin.site),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("merchant", "anchor", "session")):
            raise forms.ValidationError(_("Choose a merchant, an anchor or a live session."))
        return cleaned


class MergeForm(forms.Form):
    into = forms.CharField(label=_("merge this case into (tracking code)"), max_length=16)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        suggested = case.possible_duplicate_of
        if suggested is not None and suggested.status != CaseStatus.MERGED:
            self.fields["into"].initial = suggested.tracking_code
            self.fields["into"].help_text = _(
                "Suggested: %(code)s, found at filing as a possible duplicate."
            ) % {"code": suggested.tracking_code}

    def clean_into(self):
        code = self.cleaned_data["into"].strip().upper()
        into = Case.objects.filter(tracking_code=code).first()
        if into is None:
            raise forms.ValidationError(_("No case has this tracking code."))
        return into


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=[("", "—"), *Outcome.choices])
    note = forms.CharField(
        label=_("explanation to the consumer"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),
    )
    # Reviewers think in yuan; the service and the API keep integer fen.
    refund_yuan = forms.DecimalField(
        label=_("refund (yuan)"), required=False, min_value=Decimal("0.01"), decimal_places=2
    )
    compensation_yuan = forms.DecimalField(
        label=_("compensation (yuan)"), required=False, min_value=Decimal("0.01"), decimal_places=2
    )

    @staticmethod
    def fen(value: Decimal | None) -> int | None:
        return None if value is None else int(value * 100)


@dataclass(frozen=True)
class CaseAction:
    slug: str
    title: str
    button: str
    form: type[forms.Form]
    # Calls the service; returns the message shown on success.
    run: Callable[[Case, forms.Form, Actor], str]
    # When the page offers it; the service has the last word on the status either way.
    statuses: tuple[str, ...]
    # Service field name -> form field name, for errors the service raises.
    renames: dict[str, str] = field(default_factory=dict)
    extra_buttons: tuple[tuple[str, str], ...] = ()
    takes_case: bool = False


def _run_accept(case, form, actor):
    services.case_accept(case=case, actor=actor, message=form.cleaned_data["message"].strip())
    return _("Accepted; the resolution clock is running.")


def _run_not_accept(case, form, actor):
    services.case_not_accept(case=case, reason=form.cleaned_data["reason"], actor=actor)
    return _("Not accepted; the consumer is told why.")


def _run_record_withdrawal(case, form, actor):
    services.case_record_withdrawal(case=case, reason=form.cleaned_data["reason"], actor=actor)
    return _("Withdrawal recorded; the consumer is told.")


def _run_request_info(case, form, actor):
    services.case_request_info(case=case, message=form.cleaned_data["message"], actor=actor)
    return _("Information requested; the clocks are paused until the consumer answers.")


def _run_appraisal(case, form, actor):
    services.case_start_appraisal(case=case, message=form.cleaned_data["message"], actor=actor)
    return _("Appraisal started; the clocks are paused.")


def _run_resume(case, form, actor):
    case = services.case_resume(
        case=case, actor=actor, message=form.cleaned_data["message"].strip()
    )
    return _("Handling resumed; resolution now due %(due)s.") % {
        "due": date_format(case.resolution_due)
    }


def _run_reply(case, form, actor):
    services.case_reply(case=case, text=form.reply_text(), actor=actor)
    return _("Reply sent to the consumer.")


def _run_note(case, form, actor):
    services.case_note(case=case, text=form.cleaned_data["text"], actor=actor)
    return _("Note added.")


def _run_assign(case, form, actor):
    assignee = form.cleaned_data["assignee"]
    services.case_assign(case=case, assignee=assignee, actor=actor)
    if assignee is None:
        return _("Unassigned; the case is back in the new queue.")
    return _("Assigned to %(name)s.") % {"name": assignee.get_username()}


def run_round_robin(case, form, actor):
    # The round robin is also the filing step, so it does not check the actor: the view does.
    # The status it checks itself, under the case's lock.
    chosen = services.case_assign_round_robin(case=case, actor=actor)
    if chosen is None:
        raise Conflict(_("No available reviewer has room for another case."))
    return _("Assigned to %(name)s by round robin.") % {"name": chosen.get_username()}


def _run_link(case, form, actor):
    data = form.cleaned_data
    services.case_link(
        case=case,
        actor=actor,
        merchant=data["merchant"],
        anchor=data["anchor"],
        session=data["session"],
    )
    return _("Linked.")


def _run_merge(case, form, actor):
    into = form.cleaned_data["into"]
    services.case_merge(duplicate=case, into=into, actor=actor)
    return _("Merged into %(code)s; its consumer is told which case to follow.") % {
        "code": into.tracking_code
    }


def _run_decide(case, form, actor):
    data = form.cleaned_data
    services.case_decide(
        case=case,
        outcome=data["outcome"],
        note=data["note"],
        actor=actor,
        refund_fen=form.fen(data["refund_yuan"]),
        compensation_fen=form.fen(data["compensation_yuan"]),
    )
    return _("Decided; the consumer is told.")


_OPEN_OR_DECIDED = (*OPEN_STATUSES, CaseStatus.DECIDED)
CASE_ACTIONS: dict[str, CaseAction] = {
    action.slug: action
    for action in (
        CaseAction(
            "accept",
            _("Accept"),
            _("Accept the case"),
            MessageForm,
            _run_accept,
            (CaseStatus.NEW,),
        ),
        CaseAction(
            "record_withdrawal",
            _("Record a withdrawal"),
            _("Record the withdrawal"),
            WithdrawalForm,
            _run_record_withdrawal,
            OPEN_STATUSES,
        ),
        CaseAction(
            "not_accept",
            _("Do not accept"),
            _("Do not accept"),
            NotAcceptForm,
            _run_not_accept,
            (CaseStatus.NEW,),
        ),
        CaseAction(
            "decide",
            _("Decide"),
            _("Record the decision"),
            DecideForm,
            _run_decide,
            (CaseStatus.ACCEPTED,),
            renames={"refund_fen": "refund_yuan", "compensation_fen": "compensation_yuan"},
        ),
        CaseAction(
            "request_info",
            _("Ask the consumer for information (pauses the clocks)"),
            _("Send the request"),
            RequiredMessageForm,
            _run_request_info,
            (CaseStatus.NEW, CaseStatus.ACCEPTED),
        ),
        CaseAction(
            "appraisal",
            _("Start an appraisal (pauses the clocks)"),
            _("Start the appraisal"),
            MessageForm,
            _run_appraisal,
            (CaseStatus.ACCEPTED,),
        ),
        CaseAction(
            "resume",
            _("Resume handling (the due dates move on by the days paused)"),
            _("Resume"),
            MessageForm,
            _run_resume,
            PAUSED_STATUSES,
        ),
        CaseAction(
            "reply",
            _("Reply to the consumer"),
            _("Send the reply"),
            ReplyForm,
            _run_reply,
            _OPEN_OR_DECIDED,
            extra_buttons=(("_load", _("Insert the standard reply's text")),),
            takes_case=True,
        ),
        CaseAction(
            "note",
            _("Internal note"),
            _("Add the note"),
            NoteForm,
            _run_note,
            tuple(CaseStatus.values),
        ),
        CaseAction(
            "assign",
            _("Assign"),
            _("Assign"),
            AssignForm,
            _run_assign,
            OPEN_STATUSES,
            takes_case=True,
        ),
        CaseAction(
            "round_robin",
            _("Assign by round robin"),
            _("Give it to the least-loaded reviewer"),
            EmptyForm,
            run_round_robin,
            OPEN_STATUSES,
        ),
        CaseAction(
            "link",
            _("Link to a merchant, anchor or live session"),
            _("Link"),
            LinkForm,
            _run_link,
            _OPEN_OR_DECIDED,
            takes_case=True,
        ),
        CaseAction(
            "merge",
            _("Merge into another case"),
            _("Merge"),
            MergeForm,
            _run_merge,
            OPEN_STATUSES,
            takes_case=True,
        ),
    )
}
# The action a reviewer most likely wants next is shown unfolded.
FIRST_ACTIONS = {"accept", "decide", "resume"}


def action_form(action: CaseAction, case: Case, data=None) -> forms.Form:
    kwargs = {"auto_id": f"id_{action.slug}_%s"}
    if action.takes_case:
        kwargs["case"] = case
    return action.form(data, **kwargs)
