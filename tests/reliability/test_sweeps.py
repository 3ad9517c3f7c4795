"""The deadline sweeps through the real worker, two at once, and killed with SIGKILL half-way
through their rows and run again: every overdue item is escalated, lifted, closed or marked
exactly once, with one event and one notification each, and none is left behind.

To kill a sweep mid-way without racing it, the test holds a lock on the row in the middle of the
sweep's rows (by id, whichever way the sweep orders them): both sweeps stop there, waiting in
PostgreSQL, once they have done everything before it and their notifications have gone out. The
worker is killed in that moment -- holding nothing but the two sweeps -- its orphaned database
sessions are ended, the lock is released, and the sweep runs again, twice at once, as beat's next
run would.

The mediation sweep cannot be stopped by a lock on its middle case: it skips a case whose row is
locked (a reviewer may be deciding it), so both runs would step over it and finish. Nor does it
write anything else, per case, that a lock of the test could stand in the way of: the event has no
unique key, the webhook outbox row's key is a fresh UUID, and the endpoint its foreign key checks
is the same row for every case. So for the length of the first runs the test puts a trigger on the
case events table: the decision of the middle case, and of the case after it, waits for an
advisory lock the test holds. The first run to reach the middle case locks it, decides it and
waits, inside that case's transaction; the other run finds it locked, steps over it, and waits in
the same way at the next case. Neither can pass its gate and neither can take the other's, so both
stop with every case before the middle decided and committed and the two gated decisions written
but not committed -- which the kill rolls back.
"""

import re
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone, translation

from accounts import tasks as account_tasks
from accounts.models import Party, WebhookDelivery, WebhookEndpoint
from accounts.models.files import FileEvent, FileStatus, FileVersion, RegistrationFile
from complaints import services as complaint_services
from complaints import tasks as complaint_tasks
from complaints.models import Case, CaseEvent, CaseKind, CaseStatus, Notification, Source
from complaints.services import deadlines
from complaints.services.deadlines import compute_dues
from enforcement import notifications as enforcement_notifications
from enforcement import tasks as enforcement_tasks
from enforcement.models import Measure, MeasureEvent, MeasureKind, MeasureStatus
from tests.factories import TEST_ACTOR, register_party
from tests.reliability.conftest import (
    WebhookReceiver,
    bulk_deductions,
    drained,
    mail_text,
    sent_mail,
    until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ITEMS = 80
SECRET = "h" * 40


# --- what each sweep finds overdue -------------------------------------------------------------


def _cases(scene_party, **state) -> list[int]:
    """One complaint filed through the real service, and ITEMS - 1 copies of it in `state`."""
    received = timezone.now() - timedelta(days=60)
    filed = complaint_services.case_file(
        data=complaint_services.CaseInput(
            kind=CaseKind.COMPLAINT,
            facts="直播间宣称是真丝，收到后是化纤。",
            merchant=scene_party,
            order_number="ORD-1001",
            purchase="真丝围巾",
            category="false_advertising",
            request="refund",
            contact_name="王女士",
            contact_email="wang@example.com",
            contact_phone="13812345678",
        ),
        source=Source.WEB,
        actor=TEST_ACTOR,
        received_at=received,
    ).case
    Case.objects.filter(pk=filed.pk).update(**state)
    filed.refresh_from_db()
    fields = {
        f.attname: getattr(filed, f.attname)
        for f in Case._meta.concrete_fields
        if f.attname not in ("id", "tracking_code")
    }
    copies = Case.objects.bulk_create(
        Case(**fields, tracking_code=f"RL{n:08d}") for n in range(1, ITEMS)
    )
    return [filed.pk] + [c.pk for c in copies]


def overdue_cases(staff) -> list[int]:
    """New complaints whose 7-working-day acceptance clock ran out weeks ago."""
    return _cases(register_party(name="逾期商家"))


def unconfirmed_cases(staff) -> list[int]:
    """Decided complaints whose consumer neither confirmed nor disputed within the period."""
    return _cases(
        register_party(name="待确认商家"),
        status=CaseStatus.DECIDED,
        outcome="refund",
        accepted_at=timezone.now() - timedelta(days=50),
        decided_at=timezone.now() - timedelta(days=30),
    )


def expired_mediations(staff) -> list[int]:
    """Complaints accepted on Fri 26 Sep 2025 whose 45 working days of mediation ended on Thu 4 Dec
    2025 with no agreement (the dates tests/complaints/test_mediation.py counts by hand). A year the
    seeded holiday calendar covers: the sweep leaves alone a due date that is only an estimate.
    Filed recently and dated back, as intake refuses a filing time more than a year old."""
    accepted = timezone.make_aware(datetime(2025, 9, 26, 10))
    ids = _cases(
        register_party(name="调解商家"),
        status=CaseStatus.ACCEPTED,
        received_at=accepted - timedelta(hours=1),
        accepted_at=accepted,
    )
    # The due dates as acceptance sets them; the sweep checks them against the calendar.
    case = Case.objects.get(pk=ids[0])
    compute_dues(case)
    assert case.mediation_due == date(2025, 12, 4) and not case.deadline_estimated
    Case.objects.filter(pk__in=ids).update(
        acceptance_due=case.acceptance_due,
        resolution_due=case.resolution_due,
        mediation_due=case.mediation_due,
        deadline_estimated=False,
    )
    return ids


def _measures(staff, **state) -> list[int]:
    parties = [register_party(name=f"期限测试{k}") for k in range(4)]
    ids = bulk_deductions(staff, parties, [10_000] * ITEMS)
    now = timezone.now()
    Measure.objects.filter(pk__in=ids).update(
        amount_fen=None,
        status=MeasureStatus.EXECUTED,
        starts_at=now - timedelta(days=10),
        executed_at=now - timedelta(days=10),
        **state,
    )
    return ids


def expired_suspensions(staff) -> list[int]:
    """Live suspensions of seven days that ended an hour ago."""
    now = timezone.now()
    return _measures(
        staff,
        kind=MeasureKind.LIVE_SUSPENSION,
        term_days=7,
        ends_at=now - timedelta(hours=1),
    )


def overdue_notices(staff) -> list[int]:
    """Notices to correct whose date passed three days ago without a correction."""
    return _measures(
        staff,
        kind=MeasureKind.NOTICE_TO_CORRECT,
        correct_by=timezone.localdate() - timedelta(days=3),
    )


def due_files(staff) -> list[int]:
    """Approved registration files whose six-month re-verification fell due yesterday."""
    parties = [register_party(name=f"复核主体{n}") for n in range(ITEMS)]
    files = RegistrationFile.objects.bulk_create(
        RegistrationFile(
            party=party,
            kind=party.kind,
            status=FileStatus.APPROVED,
            name=party.name,
            contact_phone="13812345678",
            address="杭州市滨江区网商路 1 号",
        )
        for party in parties
    )
    versions = FileVersion.objects.bulk_create(
        FileVersion(file=f, version=1, snapshot={}, sha256="0" * 64, sealed_by="test")
        for f in files
    )
    for file, version in zip(files, versions, strict=True):
        file.sealed_version = version
    RegistrationFile.objects.bulk_update(files, ["sealed_version"])
    Party.objects.filter(pk__in=[p.pk for p in parties]).update(
        reverification_due_at=timezone.now() - timedelta(days=1)
    )
    return [f.pk for f in files]


# --- how each sweep is stopped half-way ----------------------------------------------------------


@contextmanager
def lock_middle_row(sweep, ids):
    """Both runs wait for the lock on the middle row, in the test's transaction."""
    with transaction.atomic():
        sweep.model.objects.select_for_update().get(pk=sorted(ids)[ITEMS // 2])
        yield


# The advisory lock the gated decisions wait for: "halfway!" as a 64-bit integer, a key nothing
# in the product takes.
HALFWAY_LOCK = int.from_bytes(b"halfway!", "big")


@contextmanager
def gate_middle_decisions(sweep, ids):
    """Both runs wait for the test's advisory lock inside the decision of the middle case or of
    the one after it (two cases: the run that comes second steps over the first one's locked
    case). The trigger fires after the event's insert, so the run waits holding the case's lock,
    with the case decided and its event written but not committed."""
    middle = sorted(ids)[ITEMS // 2 : ITEMS // 2 + 2]
    with connection.cursor() as cursor:
        # Committed before the sweep starts (the test's connection is in autocommit here), or
        # the worker would not see it.
        cursor.execute(
            "CREATE FUNCTION reliability_halfway() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN PERFORM pg_advisory_xact_lock_shared({HALFWAY_LOCK}); RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER reliability_halfway AFTER INSERT ON complaints_caseevent"
            " FOR EACH ROW WHEN (NEW.kind = %s AND NEW.case_id IN (%s, %s))"
            " EXECUTE FUNCTION reliability_halfway()",
            [CaseEvent.Kind.MEDIATION_ENDED.value, *middle],
        )
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [HALFWAY_LOCK])
            yield
    finally:
        # The test database outlives the test: no trigger may stay behind. Once the lock is
        # released nothing waits in it, so the drop does not wait either.
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER reliability_halfway ON complaints_caseevent")
            cursor.execute("DROP FUNCTION reliability_halfway()")


# --- what each sweep must leave -----------------------------------------------------------------


@dataclass
class Sweep:
    task: object
    model: type
    items: object  # (staff) -> ids of the overdue rows
    done: object  # (ids) -> how many the sweep has dealt with
    events: object  # (ids) -> {id: number of the sweep's events}
    notified: object  # (ids, mail) -> {id: number of notifications}
    topic: str = ""  # the webhook that tells the platform, if any
    about: dict | None = None  # which of the topic's deliveries are the sweep's (by payload)
    # (sweep, ids) -> a context manager in which both runs stop half-way (the module's doc says
    # how)
    halt: object = lock_middle_row


def _per(rows) -> Counter:
    return Counter(dict(rows))


def _case_notices(kind: str, recipient: str):
    def notified(ids, mail) -> Counter:
        return _per(
            Notification.objects.filter(
                event__case_id__in=ids, event__kind=kind, recipient=recipient
            )
            .values_list("event__case_id")
            .annotate(n=Count("id"))
        )

    return notified


def _consumer_mail(kind: str):
    """The e-mails the consumers received about `kind` events, by case: the subject names the
    case's tracking code and, last, the event, in the case's language."""

    def notified(ids, mail) -> Counter:
        cases = Case.objects.filter(pk__in=ids).values_list("pk", "tracking_code", "language")
        expected = {}
        for pk, code, language in cases:
            with translation.override(language):
                expected[code] = (pk, str(CaseEvent.Kind(kind).label))
        found = Counter()
        for message in sent_mail(mail):
            subject = mail_text(message).partition("\n")[0]
            for code, (pk, label) in expected.items():
                if code in subject and subject.endswith(label):
                    found[pk] += 1
        return found

    return notified


def _lead_mail(ids, mail) -> Counter:
    """The leads' e-mails about overdue corrections, by the measure they link to."""
    found = Counter()
    for message in sent_mail(mail):
        found.update(int(pk) for pk in re.findall(r"/measure/(\d+)/change/", mail_text(message)))
    return Counter({pk: n for pk, n in found.items() if pk in set(ids)})


def _webhooks(topic: str, key: str):
    def notified(ids, mail) -> Counter:
        found = Counter(
            d[key]
            for d in WebhookDelivery.objects.filter(topic=topic).values_list("payload", flat=True)
        )
        return Counter({pk: n for pk, n in found.items() if pk in set(ids)})

    return notified


def _case_events(kind):
    return lambda ids: _per(
        CaseEvent.objects.filter(case_id__in=ids, kind=kind)
        .values_list("case_id")
        .annotate(n=Count("id"))
    )


def _measure_events(kind):
    return lambda ids: _per(
        MeasureEvent.objects.filter(measure_id__in=ids, kind=kind)
        .values_list("measure_id")
        .annotate(n=Count("id"))
    )


SWEEPS = {
    "complaints.escalate_overdue": Sweep(
        task=complaint_tasks.escalate_overdue,
        model=Case,
        items=overdue_cases,
        done=lambda ids: Case.objects.filter(pk__in=ids, escalated_at__isnull=False).count(),
        events=_case_events(CaseEvent.Kind.ESCALATED),
        notified=_case_notices(CaseEvent.Kind.ESCALATED, "lead"),
    ),
    "complaints.close_unconfirmed": Sweep(
        task=complaint_tasks.close_unconfirmed,
        model=Case,
        items=unconfirmed_cases,
        done=lambda ids: Case.objects.filter(pk__in=ids, status=CaseStatus.CLOSED).count(),
        events=_case_events(CaseEvent.Kind.CLOSED),
        notified=_case_notices(CaseEvent.Kind.CLOSED, "consumer"),
        topic="complaint.status_changed",
        about={"payload__event": CaseEvent.Kind.CLOSED},
    ),
    "complaints.end_expired_mediations": Sweep(
        task=complaint_tasks.end_expired_mediations,
        model=Case,
        items=expired_mediations,
        done=lambda ids: Case.objects.filter(pk__in=ids, status=CaseStatus.DECIDED).count(),
        events=_case_events(CaseEvent.Kind.MEDIATION_ENDED),
        notified=_consumer_mail(CaseEvent.Kind.MEDIATION_ENDED),
        topic="complaint.status_changed",
        about={"payload__event": CaseEvent.Kind.MEDIATION_ENDED},
        halt=gate_middle_decisions,
    ),
    "enforcement.lift_expired": Sweep(
        task=enforcement_tasks.lift_expired,
        model=Measure,
        items=expired_suspensions,
        done=lambda ids: Measure.objects.filter(pk__in=ids, status=MeasureStatus.LIFTED).count(),
        events=_measure_events(MeasureEvent.Kind.LIFTED),
        notified=_webhooks("measure.lifted", "measure_id"),
        topic="measure.lifted",
    ),
    "enforcement.escalate_notices": Sweep(
        task=enforcement_tasks.escalate_notices,
        model=Measure,
        items=overdue_notices,
        done=lambda ids: Measure.objects.filter(pk__in=ids, escalated_at__isnull=False).count(),
        events=_measure_events(MeasureEvent.Kind.ESCALATED),
        notified=_lead_mail,
    ),
    "accounts.reverification_sweep": Sweep(
        task=account_tasks.reverification_sweep,
        model=RegistrationFile,
        items=due_files,
        done=lambda ids: RegistrationFile.objects.filter(
            pk__in=ids, reverification_notified_at__isnull=False
        ).count(),
        events=lambda ids: _per(
            FileEvent.objects.filter(file_id__in=ids, kind=FileEvent.Kind.REVERIFICATION_DUE)
            .values_list("file_id")
            .annotate(n=Count("id"))
        ),
        notified=lambda ids, mail: _webhooks("party.reverification_due", "party_id")(
            list(RegistrationFile.objects.filter(pk__in=ids).values_list("party_id", flat=True)),
            mail,
        ),
        topic="party.reverification_due",
    ),
}


@pytest.mark.parametrize("name", SWEEPS)
def test_a_sweep_run_twice_at_once_and_killed_half_way_deals_with_each_item_once(
    name, broker, worker_for, staff, figures, tmp_path, monkeypatch
):
    sweep = SWEEPS[name]
    receiver = WebhookReceiver(SECRET).start()
    WebhookEndpoint.objects.create(name="platform", url=receiver.url(), secret=SECRET)
    try:
        _run(name, sweep, broker, worker_for, staff, figures, tmp_path, monkeypatch, receiver)
    finally:
        receiver.stop()


def _run(name, sweep, broker, worker_for, staff, figures, tmp_path, monkeypatch, receiver):
    ids = sweep.items(staff)
    assert len(ids) == ITEMS and sweep.done(ids) == 0
    # The relays run in the test's process; the notices' grace of five minutes would make the
    # test wait for a message the dead worker held.
    monkeypatch.setattr(deadlines, "RELAY_GRACE", timedelta(0))
    monkeypatch.setattr(enforcement_notifications, "RELAY_AFTER", timedelta(0))
    mail = tmp_path / "mail"
    mail.mkdir()
    worker = worker_for(RELIABILITY_MAIL_DIR=str(mail)).start()
    started = time.monotonic()

    def state() -> str:
        queues = {q: broker.queued(q) for q in ("default", "notify", "money")}
        return (
            f"done {sweep.done(ids)} of {ITEMS}; waiting in the queues {queues}; taken and not"
            f" acknowledged {broker.unacknowledged()}; worker's backends waiting for a lock"
            f" {worker.blocked_on_locks()}; the worker's log ends:\n{worker.tail()}"
        )

    with sweep.halt(sweep, ids):
        # Two runs at once (a beat that fired twice, an operator who ran it by hand).
        sweep.task.delay()
        sweep.task.delay()
        until(
            lambda: (
                worker.blocked_on_locks() == 2
                and drained(broker, "default", "notify", "money", held=2)
            ),
            timeout=120,
            what="both sweeps waiting half-way, their notifications sent",
            state=state,
        )
        at_kill = sweep.done(ids)
        worker.kill()
        # The dead worker's sessions wait in PostgreSQL until they notice; end them now.
        orphans = worker.terminate_connections()
    assert 0 < at_kill < ITEMS, "killed half-way"

    # Beat's next run, again twice at once.
    worker.start()
    sweep.task.delay()
    sweep.task.delay()
    # The two runs the dead worker held stay unacknowledged (invisible for two hours).
    until(
        lambda: sweep.done(ids) == ITEMS and drained(broker, "default", "notify", "money", held=2),
        timeout=180,
        what="every item dealt with and the worker idle",
        state=state,
    )
    # What the relays would pick up (notices and webhooks whose message was lost): nothing
    # should be, but they run as beat runs them, until the worker is idle again.
    relayed = (
        complaint_tasks.relay_notices()
        + enforcement_tasks.relay_notifications()
        + account_tasks.relay_webhooks()
    )
    until(
        lambda: drained(broker, "default", "notify", "money", held=2),
        timeout=60,
        what="the relays' work done",
        state=state,
    )
    elapsed = time.monotonic() - started

    events = sweep.events(ids)
    notified = sweep.notified(ids, mail)
    assert set(events) == set(ids) and set(events.values()) == {1}, "one event per item"
    assert len(notified) == ITEMS and set(notified.values()) == {1}, "one notification per item"
    runs = worker.task_lines_containing(name, "succeeded in")
    assert runs >= 2  # the two runs after the kill finished (the first two died with it)
    if sweep.topic:
        # The platform was told once per item, and the receiver accepted each event once.
        deliveries = WebhookDelivery.objects.filter(topic=sweep.topic, **(sweep.about or {}))
        assert deliveries.count() == ITEMS
        until(
            lambda: not deliveries.exclude(status=WebhookDelivery.Status.DELIVERED).exists(),
            timeout=60,
            what="every webhook delivered",
        )
        sent = {str(e) for e in deliveries.values_list("event_id", flat=True)}
        assert sent <= set(receiver.accepted)
        assert len(receiver.acceptances) == len(set(receiver.acceptances))

    figures.update(
        {
            "items": ITEMS,
            "done when the worker was killed (both runs waiting half-way)": at_kill,
            "orphaned sessions ended": orphans,
            "runs: killed / finished": f"2 / {runs}",
            "events / notifications": f"{sum(events.values())} / {sum(notified.values())}",
            "relayed afterwards": relayed,
            "seconds from the first run to the worker idle": round(elapsed, 1),
        }
    )
