"""The public forms: complaint, report, evaluation, and the actions on the tracking page.

Every form works without JavaScript. The merchant, anchor or live session is found with a search
box that has its own submit button inside the same form (`PickerForm`): pressing it sends the
whole form back, and the page returns with everything typed so far plus the matches as radio
buttons. A browser never pre-fills a file input, so chosen files cannot survive that round trip;
rather than split the form into steps, the evidence field comes last, its help text says to
attach images after choosing, and when a round trip did drop files the page says so.

Forms check the shape of what was sent, and repeat the simplest rules for a clearer message;
the rules themselves (a complaint names someone, a report a session, the evidence limit) are
`complaints.services`' to enforce, and its ValidationErrors come back onto these forms' fields.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import PartyKind
from accounts.uploads import CleanImage, clean_image
from complaints import abuse, search, services
from complaints.models import (
    CaseKind,
    ComplaintCategory,
    ConsumerRequest,
    ReportCategory,
)
from complaints.services.contacts import fold_width
from config.api.lookups import storable_id

IMAGE_TYPES = "image/jpeg,image/png,image/webp"
FACTS_MAX_LENGTH = 5000
TEXT_MAX_LENGTH = 2000
SESSION = "session"  # the picker kind for live sessions; parties use their PartyKind


# --- Fields --------------------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class EvidenceField(forms.Field):
    """Up to `max_files` images, each decoded and re-encoded by accounts.uploads.clean_image.

    Cleans to a list of CleanImage. A refused file is named in the error, with the reason;
    one bad file refuses the lot, so that nothing is filed with half its evidence.
    """

    widget = MultipleFileInput(attrs={"accept": IMAGE_TYPES})

    def __init__(self, *, max_files: int = services.MAX_EVIDENCE, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.max_files = max_files

    def clean(self, value) -> list[CleanImage]:
        uploads = [upload for upload in (value or []) if upload]
        if len(uploads) > self.max_files:
            if self.max_files == 0:
                raise ValidationError(_("This case already holds as many images as it can."))
            raise ValidationError(
                _("You attached %(count)d images; at most %(limit)d are accepted.")
                % {"count": len(uploads), "limit": self.max_files},
                code="too_many_files",
            )
        images: list[CleanImage] = []
        errors: list[str] = []
        for upload in uploads:
            try:
                images.append(clean_image(upload))
            except ValidationError as exc:
                name = (upload.name or _("unnamed file"))[:80]
                errors.extend(
                    _("%(name)s: %(reason)s") % {"name": name, "reason": reason}
                    for reason in exc.messages
                )
        if errors:
            raise ValidationError(errors)
        return images


class FoldedCharField(forms.CharField):
    """Text folded to ASCII where it has full-width forms (`services.contacts.fold_width`) before
    it is checked: for numbers that limits and duplicate checks key on, such as phones and order
    numbers."""

    def to_python(self, value):
        return super().to_python(fold_width(value) if isinstance(value, str) else value)


class PickerField(forms.ModelChoiceField):
    """A party or session chosen among search results; rendered as radio buttons.

    Whatever id comes back is looked up in the queryset of what may be offered, so an unknown,
    wrong-kind or unapproved id is a field error, not a filing about the wrong party.
    """

    widget = forms.RadioSelect(attrs={"class": "choices"})
    default_error_messages = {
        "invalid_choice": gettext_lazy(
            "This choice is not available. Search again and choose from the list."
        ),
    }

    def __init__(self, queryset, *, kind: str, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(queryset, empty_label=None, **kwargs)
        self.kind = kind


def _star_choices():
    return [
        (1, gettext_lazy("1 – very poor")),
        (2, gettext_lazy("2 – poor")),
        (3, gettext_lazy("3 – fair")),
        (4, gettext_lazy("4 – good")),
        (5, gettext_lazy("5 – excellent")),
    ]


def star_field(label, **kwargs) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=_star_choices(),
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "stars"}),
        **kwargs,
    )


def _choose(choices):
    # A select starts on "Choose…", so that nobody files under the first category by accident.
    return [("", pgettext_lazy("select prompt", "Choose…")), *choices]


def _text(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs=attrs)


class PublicForm(forms.Form):
    """The public pages' look: required fields marked, no colon after labels."""

    required_css_class = "required"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# --- Search and pick -----------------------------------------------------------------------------


class PickerForm(PublicForm):
    """A form whose party and session fields are filled from the search box `q`.

    `pickers` maps a field name to what it holds (a PartyKind, or SESSION). The radio buttons
    offered for each are the matches for `q`, plus the one already chosen in an earlier round
    trip, so that searching for the anchor does not lose the merchant.
    """

    pickers: dict[str, str] = {}

    q = forms.CharField(
        label=gettext_lazy("Search by name"),
        help_text=gettext_lazy(
            "The shop's name, the anchor's name or the live room's title, as shown in the app."
        ),
        required=False,
        max_length=search.QUERY_MAX_LENGTH,
        widget=_text(type="search", autocomplete="off", enterkeyhint="search"),
    )

    # A fresh token on each new page; kept through the search round trips and a re-shown form
    # (complaints.abuse.Submission: a form page files once).
    submission = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get(abuse.SUBMISSION):
            self.initial[abuse.SUBMISSION] = abuse.submission_token()
        # The search runs on an unbound form too (a link, the Search button), so the words go
        # through the field's checks here. What it refuses -- a NUL byte, which PostgreSQL
        # refuses in a query -- searches nothing; a bound form shows the field's error.
        try:
            self.query = self.fields["q"].clean(search.normalise_query(self._raw("q")))
        except ValidationError:
            self.query = ""

    def _raw(self, name: str) -> str:
        value = (self.data if self.is_bound else self.initial).get(name)
        return "" if value is None else str(value).strip()

    @cached_property
    def _offers(self) -> dict[str, int]:
        """Search once, when the page is drawn (a valid submission never needs the lists), and
        give each picker its radio buttons. Name -> how many search results it offers."""
        return {name: self._offer(name) for name in self.pickers}

    def _offer(self, name: str) -> int:
        field: PickerField = self.fields[name]
        if field.kind == SESSION:
            found, label = search.find_sessions(self.query), search.session_label
        else:
            found, label = search.find_parties(self.query, field.kind), search.party_label
        results = len(found)
        found = found[: search.RESULTS]
        chosen = self._raw(name)
        if storable_id(chosen) is not None and chosen not in {str(item.pk) for item in found}:
            earlier = field.queryset.filter(pk=chosen).first()
            if earlier is not None:
                found = [earlier, *found]
        options = [(str(item.pk), label(item)) for item in found]
        if options and not field.required:
            options.append(("", _("None of these")))
        field.widget.choices = options
        field.offered = bool(options)
        return results

    @property
    def picker_fields(self):
        """The picker fields worth showing: those with something to choose, or an error."""
        self._offers  # noqa: B018  draws the lists first
        return [
            self[name]
            for name in self.pickers
            if getattr(self.fields[name], "offered", False) or self[name].errors
        ]

    @property
    def more_results(self) -> bool:
        # find_* fetch one more than they show, to tell that the list was cut.
        return any(count > search.RESULTS for count in self._offers.values())

    @property
    def searched_without_results(self) -> bool:
        return bool(self.query) and not any(self._offers.values())


def _party_picker(kind: str, label, **kwargs) -> PickerField:
    return PickerField(search.visible_parties(kind), kind=kind, label=label, **kwargs)


def _session_picker(label, **kwargs) -> PickerField:
    return PickerField(search.visible_sessions(), kind=SESSION, label=label, **kwargs)


# --- Contact -------------------------------------------------------------------------------------

# ASCII digits: the field has folded full-width ones already, and \d would take any script's.
_PHONE_CHARACTERS = re.compile(r"^[0-9\s()+\-]+$")


class ContactFields(PublicForm):
    contact_name = forms.CharField(
        label=gettext_lazy("Your name"),
        required=False,
        max_length=100,
        widget=_text(autocomplete="name"),
    )
    contact_email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        help_text=gettext_lazy("We send the tracking link and every update here."),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    contact_phone = FoldedCharField(
        label=gettext_lazy("Mobile phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_contact_phone(self) -> str:
        phone = self.cleaned_data["contact_phone"].strip()
        if phone and (
            not _PHONE_CHARACTERS.match(phone)
            or not 7 <= len(services.normalise_phone(phone)) <= 15
        ):
            raise ValidationError(_("Enter a phone number, such as 13812345678."))
        return phone

    @property
    def contact_key(self) -> str:
        return services.contact_key(
            email=self.cleaned_data.get("contact_email", ""),
            phone=self.cleaned_data.get("contact_phone", ""),
        )


# --- Complaint and report ------------------------------------------------------------------------


class CaseForm(PickerForm, ContactFields):
    kind: str = ""

    evidence = EvidenceField(
        label=gettext_lazy("Photos or screenshots"),
        help_text=gettext_lazy(
            "Up to 9 images (JPEG, PNG or WebP). Attach them last: a search reloads the page "
            "and the browser then forgets chosen files."
        ),
    )

    def case_input(self, *, language: str) -> services.CaseInput:
        data = self.cleaned_data
        return services.CaseInput(
            kind=self.kind,
            facts=data["facts"],
            merchant=data.get("merchant"),
            anchor=data.get("anchor"),
            session=data.get("session"),
            order_number=data.get("order_number", ""),
            purchase=data.get("purchase", ""),
            category=data.get("category", ""),
            request=data.get("request", ""),
            request_detail=data.get("request_detail", ""),
            report_category=data.get("report_category", ""),
            stream_offset=data.get("stream_offset"),
            contact_name=data.get("contact_name", ""),
            contact_email=data.get("contact_email", ""),
            contact_phone=data.get("contact_phone", ""),
            language=language,
            evidence=data.get("evidence", []),
        )


class ComplaintForm(CaseForm):
    kind = CaseKind.COMPLAINT
    pickers = {"merchant": PartyKind.MERCHANT, "anchor": PartyKind.ANCHOR, "session": SESSION}
    field_order = [
        "q",
        "merchant",
        "anchor",
        "session",
        "order_number",
        "purchase",
        "category",
        "facts",
        "request",
        "request_detail",
        "evidence",
        "contact_name",
        "contact_email",
        "contact_phone",
    ]

    merchant = _party_picker(PartyKind.MERCHANT, gettext_lazy("Merchant (shop)"))
    anchor = _party_picker(PartyKind.ANCHOR, gettext_lazy("Anchor"))
    session = _session_picker(gettext_lazy("Live session"))
    order_number = FoldedCharField(
        label=gettext_lazy("Order number"),
        help_text=gettext_lazy("In the app under My orders, if you have one."),
        required=False,
        max_length=64,
        widget=_text(autocomplete="off", autocapitalize="off", spellcheck="false"),
    )
    purchase = forms.CharField(
        label=gettext_lazy("What you bought"),
        required=False,
        max_length=200,
        widget=_text(autocomplete="off"),
    )
    category = forms.ChoiceField(
        label=gettext_lazy("What went wrong"), choices=_choose(ComplaintCategory.choices)
    )
    facts = forms.CharField(
        label=gettext_lazy("What happened"),
        help_text=gettext_lazy(
            "When you bought it, what was promised in the live stream and what you received."
        ),
        max_length=FACTS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    request = forms.ChoiceField(
        label=gettext_lazy("What you ask for"),
        choices=ConsumerRequest.choices,
        widget=forms.RadioSelect,
    )
    request_detail = forms.CharField(
        label=gettext_lazy("Details of your request"),
        help_text=gettext_lazy("For example the amount you ask to be refunded."),
        required=False,
        max_length=500,
        widget=_text(autocomplete="off"),
    )

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("contact_email") or cleaned.get("contact_phone")) and not (
            self.has_error("contact_email") or self.has_error("contact_phone")
        ):
            # SAMR complaint rules Art. 9: a complaint gives the complainant's contact.
            self.add_error(
                "contact_email",
                _("Give an e-mail address or a phone number so that we can reach you."),
            )
        if not any(cleaned.get(name) for name in self.pickers) and not any(
            self.has_error(name) for name in self.pickers
        ):
            self.add_error(
                "q", _("Search for the merchant, the anchor or the live session and choose it.")
            )
        return cleaned


class ReportForm(CaseForm):
    kind = CaseKind.REPORT
    pickers = {"session": SESSION}
    field_order = [
        "q",
        "session",
        "report_category",
        "seen_at",
        "facts",
        "evidence",
        "contact_name",
        "contact_email",
        "contact_phone",
    ]

    session = _session_picker(
        gettext_lazy("Live session"),
        required=True,
        error_messages={
            "required": gettext_lazy(
                "Search for the live room and choose the session you are reporting."
            )
        },
    )
    report_category = forms.ChoiceField(
        label=gettext_lazy("What you saw"), choices=_choose(ReportCategory.choices)
    )
    # People remember the time on their phone's clock, not how far into the stream it was; the
    # offset the reviewers need is worked out from the session's start (see clean()).
    seen_at = forms.TimeField(
        label=gettext_lazy("At what time did you see it?"),
        help_text=gettext_lazy("The time on your clock, for example 20:15."),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    facts = forms.CharField(
        label=gettext_lazy("What happened"),
        help_text=gettext_lazy("What was said or shown, and by whom."),
        max_length=FACTS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_email"].help_text = gettext_lazy(
            "Optional. We send the tracking link and every update here."
        )

    def clean(self):
        cleaned = super().clean()
        session, seen_at = cleaned.get("session"), cleaned.get("seen_at")
        cleaned["stream_offset"] = None
        if session is not None and seen_at is not None:
            try:
                cleaned["stream_offset"] = stream_offset(session, seen_at)
            except ValidationError as exc:
                self.add_error("seen_at", exc)
        return cleaned


def stream_offset(session, seen_at) -> timedelta:
    """How far into `session` a clock time falls: on the day the stream started, or the next
    day for a stream that ran past midnight."""
    start = timezone.localtime(session.started_at)
    seen = datetime.combine(start.date(), seen_at, tzinfo=start.tzinfo)
    if seen < start.replace(second=0, microsecond=0):
        seen += timedelta(days=1)
    seen = max(seen, start)
    # A minute's slack: the clock time has no seconds.
    end = session.ended_at or timezone.now()
    if seen > end + timedelta(minutes=1):
        if session.ended_at is None:
            raise ValidationError(_("That time has not come yet."))
        raise ValidationError(
            _("The stream had ended by then; it ran from %(start)s to %(end)s.")
            % {
                "start": start.strftime("%H:%M"),
                "end": timezone.localtime(session.ended_at).strftime("%H:%M"),
            }
        )
    return seen - start


# --- Evaluation ----------------------------------------------------------------------------------


class EvaluationForm(PickerForm):
    pickers = {"merchant": PartyKind.MERCHANT, "anchor": PartyKind.ANCHOR, "session": SESSION}
    field_order = [
        "q",
        "merchant",
        "anchor",
        "session",
        "order_number",
        "stars_description",
        "stars_service",
        "stars_logistics",
        "stars_anchor_honesty",
        "text",
    ]

    merchant = _party_picker(PartyKind.MERCHANT, gettext_lazy("Merchant (shop)"))
    anchor = _party_picker(PartyKind.ANCHOR, gettext_lazy("Anchor"))
    session = _session_picker(gettext_lazy("Live session (optional)"))
    order_number = FoldedCharField(
        label=gettext_lazy("Order number"),
        help_text=gettext_lazy("In the app under My orders."),
        max_length=64,
        widget=_text(autocomplete="off", autocapitalize="off", spellcheck="false"),
    )
    stars_description = star_field(gettext_lazy("Was the product as described?"))
    stars_service = star_field(gettext_lazy("Service attitude"))
    stars_logistics = star_field(gettext_lazy("Delivery and logistics"))
    stars_anchor_honesty = forms.TypedChoiceField(
        label=gettext_lazy("The anchor's honesty"),
        help_text=gettext_lazy("Only when you chose an anchor above."),
        choices=[("", gettext_lazy("Not rated")), *_star_choices()],
        coerce=int,
        empty_value=None,
        required=False,
        initial="",
        widget=forms.RadioSelect(attrs={"class": "stars"}),
    )
    text = forms.CharField(
        label=gettext_lazy("Your evaluation"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in self.pickers) and not any(
            self.has_error(name) for name in self.pickers
        ):
            self.add_error(
                "q", _("Search for the merchant or the anchor you are evaluating and choose it.")
            )
        return cleaned


# --- Tracking page -------------------------------------------------------------------------------


class AddInfoForm(PublicForm):
    text = forms.CharField(
        label=gettext_lazy("What you want to add"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    evidence = EvidenceField(label=gettext_lazy("Photos or screenshots"))

    def __init__(self, *args, room: int = services.MAX_EVIDENCE, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence"].max_files = room
        self.fields["evidence"].help_text = _(
            "You can add %(room)d more images (JPEG, PNG or WebP)."
        ) % {"room": room}

    def clean(self):
        cleaned = super().clean()
        if not self.has_error("evidence") and not (
            cleaned.get("text", "").strip() or cleaned.get("evidence")
        ):
            raise ValidationError(_("Write something or attach an image."))
        return cleaned


class WithdrawForm(PublicForm):
    reason = forms.CharField(
        label=gettext_lazy("Why you withdraw it (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RateForm(PublicForm):
    rating = star_field(gettext_lazy("How well was your case handled?"))
    comment = forms.CharField(
        label=gettext_lazy("Comment (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# The path of a tracking link, wherever it was pasted from (with or without the host).
_TRACKING_LINK = re.compile(r"/track/([A-Za-z0-9]{6,16})/([0-9a-f]{32})/?")


class TrackFindForm(PublicForm):
    link = forms.CharField(
        label=gettext_lazy("Your tracking link"),
        help_text=gettext_lazy("Paste the whole link from the e-mail or the confirmation page."),
        max_length=500,
        widget=_text(autocomplete="off", autocapitalize="off", spellcheck="false", inputmode="url"),
    )

    def clean_link(self) -> tuple[str, str]:
        match = _TRACKING_LINK.search(self.cleaned_data["link"])
        if match is None:
            raise ValidationError(_("This is not a tracking link. Copy the whole link."))
        return match.group(1), match.group(2)
