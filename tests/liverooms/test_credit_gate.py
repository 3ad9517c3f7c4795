"""The go-live gate consults credit: every party needs the grade the rules in force require for
the riskiest category on sale (issue 7 through the gate's check registry)."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credit import scoring


def _lower(party, points):
    scoring.record(
        party=party,
        kind="violation",
        rule="violation",
        points=points,
        source=f"test:{party.pk}:{points}",
        occurred_at=timezone.now() - timedelta(days=1),
    )
    scoring.update_score(party.pk)


def test_a_party_below_the_required_grade_is_refused_with_the_reason(world):
    _lower(world.anchor, -600)  # 400 points: grade E, below the default D
    response = world.go_live()
    assert response.status_code == 403
    reasons = response.json()["reasons"]
    assert [r["code"] for r in reasons] == ["credit_grade"]
    assert reasons[0]["party_id"] == world.anchor.pk


def test_a_grade_that_meets_the_category_passes(world):
    _lower(world.merchant, -200)  # 800: grade C, enough for apparel (default D)
    assert world.go_live().status_code == 201


def test_the_riskiest_category_on_sale_sets_the_grade(world):
    from merchants.services import product_register
    from tests.factories import TEST_ACTOR

    _lower(world.merchant, -200)  # grade C; infant formula asks for B
    formula = product_register(
        merchant=world.merchant,
        platform_ref="sku-f",
        title="婴儿配方奶粉",
        category="infant_formula",
        ad_review_number="X",
        ad_review_valid_until=timezone.localdate() + timedelta(days=300),
        actor=TEST_ACTOR,
    )
    response = world.go_live(product_ids=[world.product.pk, formula.pk])
    # Named with the product whose category asks for more, not the scarf that needs only D.
    credit = [r for r in response.json()["reasons"] if r["code"] == "credit_grade"]
    assert [(r["party_id"], r.get("product_id")) for r in credit] == [
        (world.merchant.pk, formula.pk)
    ]
    assert str(formula.pk) in credit[0]["message"]


def test_the_grades_come_with_the_gates_one_read(world):
    _lower(world.anchor, -100)
    world.go_live()  # warms the key cache
    from liverooms.models import LiveSession

    LiveSession.objects.update(status="ended")
    with CaptureQueriesContext(connection) as ctx:
        assert world.go_live().status_code == 201
    assert not [q for q in ctx if "credit_creditscore" in q["sql"] and "UNION" not in q["sql"]]


def test_a_score_from_the_rules_before_is_graded_on_the_scale_now_in_force(world):
    import copy

    from accounts.actors import Actor
    from credit import rulesets
    from credit.rules import DEFAULT_RULES
    from tests.factories import UserFactory

    _lower(world.anchor, -600)  # 400 points: E under the first rule set
    assert world.go_live().status_code == 403

    # New grade names, effective since yesterday; the nightly recompute has not run yet.
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["scale"]["grades"] = [["AAA", 950], ["AA", 850], ["A", 700], ["B", 300], ["C", 0]]
    rules["live_grades"] = {category: "B" for category in rules["live_grades"]}
    rules["entry_grade"] = "C"
    lead = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    draft = rulesets.ruleset_draft(title="第二版", rules=rules, summary="", actor=lead)
    rulesets.ruleset_publish(
        rule_set=draft,
        effective_from=timezone.now() - timedelta(days=1),
        actor=lead,
        now=timezone.now() - timedelta(days=9),
    )
    scoring.forget_rules()
    response = world.go_live()
    assert response.status_code == 201, response.json()
