"""An evaluation weighs in credit only once the platform, which holds the orders, vouches for its
order: those it forwards come with their orders; one made on the public web form waits for the
platform's answer to the webhook `evaluation.order_check`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.models import PartyKind, WebhookDelivery
from accounts.services import webhook_endpoint_create
from complaints import services
from complaints.models import Evaluation, OrderCheck, Source
from complaints.services.contacts import order_key
from config.errors import Conflict
from credit.models import CreditEvent, EventKind
from tests.complaints.test_admin import login
from tests.complaints.test_web import evaluation_data
from tests.concurrency import attempt_while_held
from tests.factories import TEST_ACTOR, UserFactory, register_party

pytestmark = pytest.mark.django_db
EVALUATIONS = "/api/v1/evaluations/"
PLATFORM = Actor(label="api:platform-app")


def client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def platform(make_key):
    _key, raw = make_key(name="platform-app")
    return client_with(raw)


def from_the_web(scene, **overrides) -> Evaluation:
    fields = {
        "merchant": scene.merchant,
        "anchor": scene.anchor,
        "order_number": "ORD-WEB-1",
        "stars_description": 1,
        "stars_service": 1,
        "stars_logistics": 1,
        "stars_anchor_honesty": 1,
        "text": "差评",
        "source": Source.WEB,
        **overrides,
    }
    evaluation, created = services.evaluation_submit(**fields)
    assert created
    return evaluation


def credit_events(evaluation) -> list[CreditEvent]:
    return list(
        CreditEvent.objects.filter(
            kind=EventKind.EVALUATION, source=f"complaints.evaluation:{evaluation.pk}"
        )
    )


def answer(client, evaluation, found) -> tuple[int, dict]:
    response = client.post(
        f"{EVALUATIONS}{evaluation.pk}/order-check/", {"found": found}, format="json"
    )
    return response.status_code, response.json()


def test_a_web_evaluation_waits_for_the_platform_and_asks_it(scene):
    endpoint, _secret = webhook_endpoint_create(
        name="platform", url="https://platform.example.com/hooks", actor=TEST_ACTOR
    )
    evaluation = from_the_web(scene)

    assert evaluation.order_check == OrderCheck.PENDING
    assert credit_events(evaluation) == []
    assert services.evaluation_summary(scene.merchant)["count"] == 0
    delivery = WebhookDelivery.objects.get(topic="evaluation.order_check")
    assert delivery.endpoint == endpoint
    assert delivery.payload == {
        "evaluation_id": evaluation.pk,
        "order_number": "ORD-WEB-1",
        "merchant_id": scene.merchant.pk,
        "anchor_id": scene.anchor.pk,
        "session_id": None,
        "created_at": evaluation.created_at.isoformat(),
    }
    evaluation.refresh_from_db()
    assert evaluation.order_asked_at >= delivery.created_at


def test_the_web_form_stores_a_waiting_evaluation_and_says_when_it_counts(client, public, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/evaluations/new/", evaluation_data(public), follow=True)

    assert Evaluation.objects.get().order_check == OrderCheck.PENDING
    assert "once the platform confirms that the order you gave is yours" in (
        response.content.decode()
    )


def test_a_confirmed_order_counts_dated_when_the_evaluation_was_made(scene, platform, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    evaluation = from_the_web(scene)
    made = evaluation.created_at
    time_machine.shift(timedelta(days=2))

    code, body = answer(platform, evaluation, True)

    assert code == 200
    assert (body["order_check"], body["id"]) == ("confirmed", evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.order_checked_at == timezone.now()
    assert evaluation.order_checked_by == "api:platform-app"
    events = credit_events(evaluation)
    assert {e.party_id for e in events} == {scene.merchant.pk, scene.anchor.pk}
    assert {e.occurred_at for e in events} == {made}
    assert services.evaluation_summary(scene.merchant)["count"] == 1
    # The platform retries: the same answer changes nothing; another is a conflict.
    assert answer(platform, evaluation, True)[0] == 200
    assert len(credit_events(evaluation)) == 2
    assert answer(platform, evaluation, False)[0] == 409
    evaluation.refresh_from_db()
    assert evaluation.order_check == OrderCheck.CONFIRMED


def test_an_order_the_platform_does_not_know_never_counts_and_stays_on_record(scene, platform):
    evaluation = from_the_web(scene)

    code, body = answer(platform, evaluation, False)

    assert (code, body["order_check"]) == (200, "not_found")
    assert credit_events(evaluation) == []
    assert answer(platform, evaluation, False)[0] == 200  # a retry
    listed = platform.get(EVALUATIONS, {"order_check": "not_found"}).json()["results"]
    assert [row["id"] for row in listed] == [evaluation.pk]
    assert platform.get(EVALUATIONS, {"order_check": "pending"}).json()["results"] == []


def test_the_platform_may_correct_a_not_found_but_not_a_confirmation(scene, platform):
    late = from_the_web(scene, order_number="ORD-LATE")
    assert answer(platform, late, False)[1]["order_check"] == "not_found"
    # Its order records were behind: the order exists after all.
    code, body = answer(platform, late, True)
    assert (code, body["order_check"]) == (200, "confirmed")
    assert len(credit_events(late)) == 2
    # A confirmation stands; an evaluation that should not count is a reviewer's to hide.
    assert answer(platform, late, False)[0] == 409
    late.refresh_from_db()
    assert late.order_check == OrderCheck.CONFIRMED


def test_an_order_is_evaluated_once(scene, platform):
    first = from_the_web(scene, order_number="ORD-ONCE")
    # The same order typed in small letters and with a space.
    again = from_the_web(scene, order_number="ord -once", stars_description=2)
    other_party = from_the_web(
        scene, order_number="ORD-ONCE", merchant=None, anchor=register_party(PartyKind.ANCHOR)
    )
    assert {e.order_check for e in (first, again, other_party)} == {OrderCheck.PENDING}

    assert answer(platform, first, True)[1]["order_check"] == "confirmed"
    assert answer(platform, again, True)[1]["order_check"] == "duplicate_order"
    # Another party's evaluation of the order is its own.
    assert answer(platform, other_party, True)[1]["order_check"] == "confirmed"
    assert credit_events(again) == []
    assert answer(platform, again, True)[0] == 200  # a retry changes nothing
    assert services.evaluation_summary(scene.merchant)["count"] == 1

    # Once the order counts, a further one from the web form is not even asked about.
    deliveries = WebhookDelivery.objects.filter(topic="evaluation.order_check").count()
    third = from_the_web(scene, order_number="ORD-ONCE")
    assert third.order_check == OrderCheck.DUPLICATE_ORDER
    assert WebhookDelivery.objects.filter(topic="evaluation.order_check").count() == deliveries
    # Nor does the platform's own forward of the same order count twice.
    forwarded, _created = services.evaluation_submit(
        merchant=scene.merchant,
        anchor=None,
        order_number="ORD-ONCE",
        stars_description=5,
        stars_service=5,
        stars_logistics=5,
        source=Source.API,
        platform_ref="fwd-once",
    )
    assert forwarded.order_check == OrderCheck.DUPLICATE_ORDER
    assert credit_events(forwarded) == []
    # The platform answers for the web form's evaluations only.
    assert answer(platform, forwarded, True)[0] == 409


def test_when_the_counted_evaluation_is_hidden_the_order_may_be_evaluated_again(
    scene, platform, reviewer_actor
):
    first = from_the_web(scene, order_number="ORD-H")
    answer(platform, first, True)
    services.evaluation_hide(evaluation=first, reason="刷评", actor=reviewer_actor)

    again = from_the_web(scene, order_number="ORD-H")

    assert answer(platform, again, True)[1]["order_check"] == "confirmed"
    assert len(credit_events(again)) == 2


def test_a_forwarded_evaluation_counts_at_once_and_takes_no_answer(scene, platform):
    response = platform.post(
        EVALUATIONS,
        {
            "platform_ref": "eval-fwd-1",
            "merchant_id": scene.merchant.pk,
            "order_number": "ORD-APP-1",
            "stars_description": 5,
            "stars_service": 5,
            "stars_logistics": 5,
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["order_check"] == "forwarded"
    evaluation = Evaluation.objects.get(platform_ref="eval-fwd-1")
    assert len(credit_events(evaluation)) == 1
    assert not WebhookDelivery.objects.filter(topic="evaluation.order_check").exists()
    assert answer(platform, evaluation, True)[0] == 409


def test_hidden_while_waiting_it_does_not_count_when_confirmed(scene, reviewer_actor):
    evaluation = from_the_web(scene)
    services.evaluation_hide(evaluation=evaluation, reason="辱骂", actor=reviewer_actor)

    services.evaluation_order_checked(evaluation=evaluation, found=True, actor=PLATFORM)

    evaluation.refresh_from_db()
    assert evaluation.order_check == OrderCheck.CONFIRMED
    assert credit_events(evaluation) == []


def test_hidden_after_it_counted_it_is_taken_back(scene, reviewer_actor):
    evaluation = from_the_web(scene)
    services.evaluation_order_checked(evaluation=evaluation, found=True, actor=PLATFORM)

    counted = credit_events(evaluation)
    assert len(counted) == 2

    services.evaluation_hide(evaluation=evaluation, reason="刷评", actor=reviewer_actor)

    assert services.evaluation_summary(scene.merchant)["count"] == 0
    reversals = CreditEvent.objects.filter(kind=EventKind.REVERSAL, reverses__in=counted)
    assert reversals.count() == 2


def test_only_the_platforms_own_keys_with_the_write_scope_answer(scene, make_key):
    evaluation = from_the_web(scene)
    _key, bound = make_key(party=scene.merchant, name="merchant-key")
    _key, reader = make_key(scopes=["evaluations:read"], name="reader")
    _key, writer = make_key(scopes=["evaluations:read", "evaluations:write"], name="writer")

    assert answer(client_with(bound), evaluation, True)[0] == 403
    assert answer(client_with(reader), evaluation, True)[0] == 403
    anonymous = APIClient().post(
        f"{EVALUATIONS}{evaluation.pk}/order-check/", {"found": True}, format="json"
    )
    assert anonymous.status_code == 401
    evaluation.refresh_from_db()
    assert evaluation.order_check == OrderCheck.PENDING

    client = client_with(writer)
    missing = client.post(f"{EVALUATIONS}999999/order-check/", {"found": True}, format="json")
    assert missing.status_code == 404
    for body in ({}, {"found": "perhaps"}):
        response = client.post(f"{EVALUATIONS}{evaluation.pk}/order-check/", body, format="json")
        assert response.status_code == 400
        assert "found" in response.json()
    assert answer(client, evaluation, True)[0] == 200


def test_the_service_refuses_to_undo_a_confirmation(scene):
    evaluation = from_the_web(scene)
    services.evaluation_order_checked(evaluation=evaluation, found=True, actor=PLATFORM)
    with pytest.raises(Conflict):
        services.evaluation_order_checked(evaluation=evaluation, found=False, actor=PLATFORM)


def test_the_admin_shows_and_filters_the_order_check(scene):
    waiting = from_the_web(scene, order_number="ORD-WAIT")
    refused = from_the_web(scene, order_number="ORD-NONE")
    services.evaluation_order_checked(evaluation=refused, found=False, actor=PLATFORM)
    admin_client = login(scene.reviewer)

    page = admin_client.get("/admin/complaints/evaluation/", {"order_check__exact": "pending"})

    assert page.status_code == 200
    shown = [row.pk for row in page.context["cl"].result_list]
    assert shown == [waiting.pk]
    detail = admin_client.get(f"/admin/complaints/evaluation/{refused.pk}/change/")
    assert "api:platform-app" in detail.content.decode()


def test_a_row_written_without_the_new_columns_counts_as_before_the_checks(scene):
    """complaints 0009: the database's defaults fill the rows already stored and those that
    processes on the previous code write while it is deployed (they count evaluations at
    once)."""
    from django.db import connection

    table = Evaluation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (merchant_id, order_number, stars_description, "  # noqa: S608
            "stars_service, stars_logistics, text, source, platform_ref, contact_key, "
            "created_at, hidden_reason) VALUES (%s, 'ORD-OLD', 3, 3, 3, '', 'web', '', '', "
            "%s, '')",
            [scene.merchant.pk, timezone.now()],
        )
    old = Evaluation.objects.get(order_number="ORD-OLD")
    assert (old.order_check, old.order_checked_by) == (OrderCheck.BEFORE_CHECKS, "")
    assert services.evaluation_summary(scene.merchant)["count"] == 1


def test_evaluations_waiting_for_the_platform_are_a_queue_on_the_front_page(scene):
    from tests.complaints.test_admin import queue_counts

    from_the_web(scene, order_number="ORD-Q1")
    answered = from_the_web(scene, order_number="ORD-Q2")
    services.evaluation_order_checked(evaluation=answered, found=True, actor=PLATFORM)

    assert queue_counts(login(scene.reviewer))["evaluations_order_pending"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_evaluations_of_one_order_confirmed_at_the_same_moment_count_once(scene):
    """The first confirmation holds the party's lock until it commits; the second waits for it
    and then finds the order counted. Without the lock each saw the other uncounted."""
    first = from_the_web(scene, order_number="ORD-RACE")
    second = from_the_web(scene, order_number="ORD-RACE")

    finished_early = attempt_while_held(
        lambda: services.evaluation_order_checked(evaluation=first, found=True, actor=PLATFORM),
        lambda: services.evaluation_order_checked(evaluation=second, found=True, actor=PLATFORM),
    )

    assert not finished_early, "the second confirmation did not wait for the first"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.order_check, second.order_check) == (
        OrderCheck.CONFIRMED,
        OrderCheck.DUPLICATE_ORDER,
    )
    assert credit_events(second) == []


def asked_about(evaluation) -> int:
    return WebhookDelivery.objects.filter(
        topic="evaluation.order_check", payload__evaluation_id=evaluation.pk
    ).count()


def test_a_question_no_endpoint_took_is_sent_once_an_endpoint_takes_the_topic(
    scene, reviewer_actor
):
    waiting = from_the_web(scene, order_number="ORD-A1")
    hidden = from_the_web(scene, order_number="ORD-A2")
    services.evaluation_hide(evaluation=hidden, reason="广告", actor=reviewer_actor)
    answered = from_the_web(scene, order_number="ORD-A3")
    services.evaluation_order_checked(evaluation=answered, found=False, actor=PLATFORM)
    assert (waiting.order_asked_at, WebhookDelivery.objects.count()) == (None, 0)
    assert services.ask_unasked_orders() == 0

    webhook_endpoint_create(
        name="other",
        url="https://other.example.com/hooks",
        topics=["party.approved"],
        actor=TEST_ACTOR,
    )
    assert services.ask_unasked_orders() == 0
    webhook_endpoint_create(
        name="platform",
        url="https://platform.example.com/hooks",
        topics=["evaluation.order_check"],
        actor=TEST_ACTOR,
    )
    assert services.ask_unasked_orders() == 1
    assert services.ask_unasked_orders() == 0

    assert [asked_about(e) for e in (waiting, hidden, answered)] == [1, 0, 0]
    waiting.refresh_from_db()
    assert waiting.order_asked_at is not None
    assert waiting.order_check == OrderCheck.PENDING


def test_the_periodic_ask_runs_every_quarter_of_an_hour():
    from config.celery import app

    entry = app.conf.beat_schedule["complaints-ask-unasked-orders"]
    # tests/accounts/test_webhooks.py checks that every scheduled task exists.
    assert (entry["task"], entry["schedule"]) == ("complaints.ask_unasked_orders", 900.0)


def ask_again(client, *evaluations):
    selection = {"action": "ask_platform_again", "_selected_action": [e.pk for e in evaluations]}
    response = client.post("/admin/complaints/evaluation/", {**selection, "index": "0"})
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def test_a_reviewer_asks_the_platform_again_from_the_admin(scene):
    webhook_endpoint_create(
        name="platform", url="https://platform.example.com/hooks", actor=TEST_ACTOR
    )
    waiting = from_the_web(scene, order_number="ORD-B1")
    confirmed = from_the_web(scene, order_number="ORD-B2")
    services.evaluation_order_checked(evaluation=confirmed, found=True, actor=PLATFORM)
    client = login(scene.reviewer)
    client.cookies["django_language"] = "en"

    response, said = ask_again(client, waiting, confirmed)

    assert response.status_code == 302
    assert [asked_about(e) for e in (waiting, confirmed)] == [2, 1]
    assert "The platform was asked about 1 order." in said
    assert any("ORD-B2" in line and "not waiting" in line for line in said)


def test_asking_again_while_no_endpoint_takes_the_topic_says_so_and_sends_nothing(scene):
    waiting = from_the_web(scene, order_number="ORD-C1")
    client = login(scene.reviewer)
    client.cookies["django_language"] = "en"

    _response, said = ask_again(client, waiting)

    assert WebhookDelivery.objects.count() == 0
    assert any("No active webhook endpoint takes the topic" in line for line in said)
    waiting.refresh_from_db()
    assert waiting.order_asked_at is None


def test_only_staff_with_the_permission_may_ask_again(scene):
    webhook_endpoint_create(
        name="platform", url="https://platform.example.com/hooks", actor=TEST_ACTOR
    )
    waiting = from_the_web(scene, order_number="ORD-D1")
    auditor = UserFactory(roles=["auditor"])
    client = login(auditor)

    page = client.get("/admin/complaints/evaluation/")
    assert page.status_code == 200
    offered = page.context["cl"].model_admin.get_actions(page.wsgi_request)
    assert "ask_platform_again" not in offered
    ask_again(client, waiting)
    with pytest.raises(PermissionError):
        services.evaluation_order_ask(evaluation=waiting, actor=Actor.for_user(auditor))
    assert asked_about(waiting) == 1


def test_an_order_number_with_another_dash_is_the_same_order(scene, platform):
    """Input methods offer U+2010, en and em dashes and the minus sign for '-'."""
    for typed in ("ORD‐77", "ORD–77", "ORD—77", "ORD−77"):
        body = {
            "merchant_id": scene.merchant.pk,
            "order_number": typed,
            "stars_description": 5,
            "stars_service": 5,
            "stars_logistics": 5,
            "platform_ref": f"app-{ord(typed[3])}",
        }
        response = platform.post(EVALUATIONS, body, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["order_number"] == "ORD-77"
    checks = sorted(Evaluation.objects.values_list("order_check", flat=True))
    assert checks == [OrderCheck.DUPLICATE_ORDER] * 3 + [OrderCheck.FORWARDED]
    # A number stored before the fold (complaints 0012 folds those) and one typed now.
    assert order_key("ord‐77 ") == order_key("ORD-77") == "ORD-77"
