"""Cross-platform sharing (joint discipline, LCM Art. 14) in the workbench: the peer platforms and
the keys their feeds are signed with, the records they sent us and the ones we share, and the
disputes parties raise about shared records -- decided by a lead through
`credit.sharing.dispute_decide`."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors
from accounts.admin_site import Queue
from config.errors import Conflict
from credit import sharing
from credit.admin.common import ReadOnlyAdmin, admin_link, form_page, party_link
from credit.models import Dispute, FeedEntry, Peer, PeerRecord


def _on_this_field(check, value) -> None:
    """Run a service's check inside a field's clean: its errors, named after that field, become
    the field's own."""
    try:
        check(value)
    except ValidationError as exc:
        raise ValidationError(exc.messages) from None


class PeerForm(forms.ModelForm):
    """Checked here with the sharing service's own rules, so that a wrong key or an http:// feed
    is an error on its field, as typed."""

    feed_url = forms.URLField(label=_("feed URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = Peer
        fields = ["name", "feed_url", "public_key", "is_active"]
        widgets = {"public_key": forms.TextInput(attrs={"size": 60, "spellcheck": "false"})}
        help_texts = {
            "public_key": _(
                "The peer's Ed25519 public key: its 32 raw bytes in base64 (44 characters), as "
                "the consortium published it. Every page of its feed must verify with it."
            ),
            "is_active": _("Inactive peers are not pulled; their records stay."),
        }

    def clean_public_key(self):
        # Line breaks and spaces from a copied key are not part of it.
        key = "".join(self.cleaned_data["public_key"].split())
        _on_this_field(sharing.load_public_key, key)
        return key

    def clean_feed_url(self):
        url = self.cleaned_data["feed_url"]
        # The service's own rule (https only); private there until a `peer_update` service
        # exists to check it on changes too.
        _on_this_field(sharing._check_feed_url, url)
        return url


@admin.register(Peer)
class PeerAdmin(admin.ModelAdmin):
    form = PeerForm
    list_display = ["name", "feed_url", "is_active", "last_seq", "last_pulled_at", "has_error"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    readonly_fields = [
        "last_seq",
        "last_pulled_at",
        "last_error",
        "next_public_key",
        "key_rotated_at",
    ]

    def get_fields(self, request, obj=None):
        editable = ["name", "feed_url", "public_key", "is_active"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    # Peer records point at their peer; a peer that leaves is made inactive, not deleted.
    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("last pull failed"), boolean=True)
    def has_error(self, obj):
        return bool(obj.last_error)

    def save_model(self, request, obj, form, change):
        if change:
            # No service changes a peer yet; the form checked the key and the URL with the
            # service's rules, and the pull job reads the row afresh each time.
            super().save_model(request, obj, form, change)
            return
        created = sharing.peer_register(
            name=form.cleaned_data["name"],
            feed_url=form.cleaned_data["feed_url"],
            public_key=form.cleaned_data["public_key"],
            actor=Actor.for_user(request.user),
        )
        if not form.cleaned_data["is_active"]:
            Peer.objects.filter(pk=created.pk).update(is_active=False)
        # The admin's message, log entry and redirect follow the row the service made.
        obj.pk = created.pk


class RevokedFilter(admin.SimpleListFilter):
    title = _("in effect")
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return [("no", _("In effect")), ("yes", _("Revoked by the peer"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=True)
        return queryset


class MatchedFilter(admin.SimpleListFilter):
    title = pgettext_lazy("shared record", "matched")
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("yes", _("Matches a party here")), ("no", _("No match"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(party__isnull=self.value() == "no")
        return queryset


@admin.register(PeerRecord)
class PeerRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "peer",
        "remote_seq",
        "kind",
        "party_display",
        "valid_from",
        "valid_until",
        "revoked_at",
    ]
    list_filter = ["kind", MatchedFilter, RevokedFilter, "peer"]
    list_select_related = ["peer", "party"]
    search_fields = ["=consortium_hash", "^party__name"]
    show_full_result_count = False
    list_per_page = 100
    fields = [
        "peer",
        "remote_seq",
        "kind",
        "party_display",
        "consortium_hash",
        "valid_from",
        "valid_until",
        "revoked_at",
        "received_at",
        "payload",
    ]
    readonly_fields = fields

    @admin.display(description=_("matched party"), ordering="party_id")
    def party_display(self, obj):
        return party_link(obj.party)


@admin.register(FeedEntry)
class FeedEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "seq",
        "kind",
        "party_display",
        "source",
        "valid_from",
        "valid_until",
        "revokes_link",
        "published_at",
    ]
    list_filter = ["kind", "published_at"]
    list_select_related = ["party", "revokes"]
    search_fields = ["=source", "^party__name"]
    ordering = ["-seq"]
    show_full_result_count = False
    list_per_page = 100
    fields = [
        "seq",
        "kind",
        "party_display",
        "consortium_hash",
        "source",
        "valid_from",
        "valid_until",
        "revokes_link",
        "published_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("party"), ordering="party_id")
    def party_display(self, obj):
        return party_link(obj.party)

    @admin.display(description=_("corrects or revokes"))
    def revokes_link(self, obj):
        return admin_link(obj.revokes, f"#{obj.revokes_id}") if obj.revokes_id else "—"


# --- disputes ------------------------------------------------------------------------------


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("decision"),
        choices=[
            ("uphold", _("Uphold: the record is corrected or revoked")),
            ("reject", _("Reject: the record stands")),
        ],
        widget=forms.RadioSelect,
    )
    decision = forms.CharField(
        label=_("reasons for the decision (sent to the party)"),
        widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"}),
    )


DECIDE = "credit.change_dispute"


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["filed_at", "party_display", "record", "status", "decided_at", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["party", "feed_entry", "peer_record__peer"]
    search_fields = ["^party__name"]
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "party_display",
        "record",
        "record_details",
        "grounds",
        "status",
        "filed_at",
        "decided_at",
        "decided_by",
        "decision",
    ]
    readonly_fields = fields

    @admin.display(description=_("party"), ordering="party_id")
    def party_display(self, obj):
        return party_link(obj.party)

    @admin.display(description=_("record disputed"))
    def record(self, obj):
        if obj.feed_entry_id:
            return admin_link(
                obj.feed_entry,
                gettext("ours: #%(seq)d %(kind)s")
                % {"seq": obj.feed_entry.seq, "kind": obj.feed_entry.get_kind_display()},
            )
        return admin_link(
            obj.peer_record,
            gettext("%(peer)s's: #%(seq)d %(kind)s")
            % {
                "peer": obj.peer_record.peer,
                "seq": obj.peer_record.remote_seq,
                "kind": obj.peer_record.get_kind_display(),
            },
        )

    @admin.display(description=_("the record"))
    def record_details(self, obj):
        record = obj.feed_entry or obj.peer_record
        until = record.valid_until.isoformat() if record.valid_until else gettext("no end")
        text = gettext("valid from %(start)s, until %(end)s") % {
            "start": record.valid_from.isoformat(),
            "end": until,
        }
        if obj.feed_entry_id:
            return f"{text}; {gettext('source')}: {record.source}"
        if record.revoked_at:
            text += "; " + gettext("revoked by the peer")
        return text

    def has_decide_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(DECIDE) and (obj is None or obj.status == Dispute.Status.OPEN)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context = {
                **(extra_context or {}),
                "can_decide": self.has_decide_permission(request, obj),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="credit_dispute_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, pk):
        if not request.user.has_perm(DECIDE):
            raise PermissionDenied
        dispute = self.get_object(request, str(pk))
        if dispute is None:
            raise Http404
        change_url = reverse("admin:credit_dispute_change", args=[dispute.pk])
        if dispute.status != Dispute.Status.OPEN:
            self.message_user(
                request, gettext("This dispute has been decided already."), messages.ERROR
            )
            return HttpResponseRedirect(change_url)
        form = DecideForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                dispute = sharing.dispute_decide(
                    dispute=dispute,
                    uphold=form.cleaned_data["outcome"] == "uphold",
                    decision=form.cleaned_data["decision"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc, {"uphold": "outcome"})
            except (Conflict, PermissionDenied) as exc:
                text = exc.message if isinstance(exc, Conflict) else str(exc)
                self.message_user(request, str(text), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.message_user(
                    request,
                    gettext("Decided: %(status)s.") % {"status": dispute.get_status_display()},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        return form_page(
            self,
            request,
            title=gettext("Decide the dispute: %(dispute)s") % {"dispute": dispute},
            form=form,
            button=gettext("Record the decision"),
            back_url=change_url,
            template="admin/credit/dispute/decide.html",
            object=dispute,
            record=self.record(dispute),
            record_details=self.record_details(dispute),
        )


admin.site.register_queue(
    Queue(
        key="disputes_open",
        title=_("Disputes of shared records"),
        permission=DECIDE,
        url_name="admin:credit_dispute_changelist",
        query="status__exact=open",
        # Disputes are few (one per contested shared record): counting them needs no index.
        count=lambda request: Dispute.objects.filter(status=Dispute.Status.OPEN).count(),
        order=50,
    )
)
