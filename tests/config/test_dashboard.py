"""The compliance dashboard: each figure counted right on a small world built through the real
services, one query per figure and a page whose query count does not grow with the data, the
charts, the CSV and the printable report, who may look, and the long export as a job."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from complaints import services as complaints
from complaints.models import Case, CaseKind, Source
from config.dashboard import charts, exports, figures
from config.dashboard.figures import Figure, Period, Series
from credit import scoring
from credit.models import Job, RuleSet
from enforcement import services as enforcement
from enforcement.models import MeasureKind, ViolationType
from liverooms.models import Inspection, LiveRoom, LiveSession
from liverooms.services import inspection_record, room_register
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory, register_party


def _reviewer(n: int) -> str:
    """The pseudonym as the active language writes it."""
    return pgettext("pseudonym", "Reviewer %(n)d") % {"n": n}


SHANGHAI = ZoneInfo("Asia/Shanghai")
# Friday 28 November 2025: the default period runs from Monday 8 September (12 weeks).
TODAY = datetime(2025, 11, 28, 12, 0, tzinfo=SHANGHAI)
# Indexes of weeks in the default period.
WEEK_OF_3_NOV, WEEK_OF_10_NOV, WEEK_OF_24_NOV = 8, 9, 11


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def fresh_rules(db):
    # The first rule set is seeded in force from the day the migration ran; these tests live in
    # 2025, so it has been in force since before then.
    RuleSet.objects.filter(version=1).update(
        published_at=datetime(2020, 1, 1, tzinfo=SHANGHAI),
        effective_from=datetime(2020, 1, 1, tzinfo=SHANGHAI),
    )
    scoring.forget_rules()
    yield
    scoring.forget_rules()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block queued for after commit (the eager task)."""

    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


@dataclass
class World:
    merchant: Party
    room: LiveRoom
    low_room: LiveRoom
    reviewer: object
    lead: object
    lead2: object
    travel: object
    n: int = 0

    def file(self, when: datetime, kind: str = CaseKind.COMPLAINT) -> Case:
        self.travel.move_to(when, tick=False)
        self.n += 1
        if kind == CaseKind.COMPLAINT:
            data = complaints.CaseInput(
                kind=kind,
                facts="直播间宣称是真丝，收到后是化纤。",
                merchant=self.merchant,
                order_number=f"ORD-{self.n}",
                category="quality",
                request="refund",
                contact_email=f"buyer{self.n}@example.com",
            )
        else:
            session = LiveSession.objects.create(
                room=self.low_room, owner=self.low_room.owner, status="ended"
            )
            data = complaints.CaseInput(
                kind=kind,
                facts="主播引导私下转账。",
                session=session,
                report_category="offline_transaction",
            )
        return complaints.case_file(data=data, source=Source.WEB, actor=TEST_ACTOR).case

    def then(self, when: datetime) -> None:
        self.travel.move_to(when, tick=False)

    @property
    def reviewer_actor(self) -> Actor:
        return Actor.for_user(self.reviewer)

    def measure(self, when: datetime, kind: str = "warning", **fields):
        self.then(when)
        violation = enforcement.violation_raise(
            party=self.merchant,
            source="reviewer",
            facts="直播中宣称“全网最低价”。",
            actor=self.reviewer_actor,
        )
        violation = enforcement.violation_confirm(
            violation=violation,
            vtype=ViolationType.objects.get(code="false_publicity", status="published"),
            actor=self.reviewer_actor,
        )
        if kind == "warning":
            fields.setdefault("departure_reason", "初次违规，警告即可。")
        return enforcement.measure_propose(
            violation=violation,
            proposal=enforcement.Proposal(kind=kind, reason="虚假宣传。", **fields),
            actor=self.reviewer_actor,
        )

    def session(self, room: LiveRoom, when: datetime) -> LiveSession:
        self.then(when)
        LiveSession.objects.filter(room=room, status="live").update(status="ended")
        return LiveSession.objects.create(room=room, owner=room.owner)

    def inspect(self, session: LiveSession, when: datetime, user=None) -> Inspection:
        self.then(when)
        return inspection_record(
            session=session,
            checklist={"identity_checked": True},
            findings="",
            result="no_issue",
            actor=Actor.for_user(user or self.reviewer),
        )


@pytest.fixture
def world(db, settings, tmp_path, time_machine) -> World:
    settings.MEDIA_ROOT = tmp_path
    time_machine.move_to(at(8, 1), tick=False)
    merchant = register_party(PartyKind.MERCHANT, name="西子良品")
    room = room_register(
        owner=merchant,
        platform_ref="room-d1",
        title="西子良品直播间",
        category="apparel",
        followers=5000,
        actor=TEST_ACTOR,
    )
    low_room = room_register(
        owner=merchant,
        platform_ref="room-d2",
        title="西子良品小店",
        category="apparel",
        followers=10,
        actor=TEST_ACTOR,
    )
    reviewer = UserFactory(roles=["compliance_reviewer"], username="patrol_wang")
    lead = UserFactory(roles=["compliance_lead"], username="lead_li")
    lead2 = UserFactory(roles=["compliance_lead"], username="lead_zhao")
    return World(merchant, room, low_room, reviewer, lead, lead2, time_machine)


def build_cases(w: World) -> dict[str, Case]:
    """Week of 3 Nov 2025 (acceptance due Wed 12 Nov, resolution due Mon 17 Nov): one case in
    time on both clocks, one late on both, one report never touched, one refused in time. Week
    of 10 Nov: a report withdrawn. Week of 24 Nov: a complaint not yet due. 1 Sep: before."""
    cases = {
        "before": w.file(at(9, 1)),
        "a": w.file(at(11, 3, 10)),
        "b": w.file(at(11, 3, 11)),
        "c": w.file(at(11, 3, 12), CaseKind.REPORT),
        "d": w.file(at(11, 3, 13)),
        "e": w.file(at(11, 10), CaseKind.REPORT),
    }
    reviewer = w.reviewer_actor
    w.then(at(11, 4))
    complaints.case_accept(case=cases["a"], actor=reviewer)
    w.then(at(11, 5))
    complaints.case_not_accept(case=cases["d"], reason="不属于平台受理范围。", actor=reviewer)
    w.then(at(11, 11))
    complaints.case_withdraw(case=cases["e"], reason="已自行解决。", actor=TEST_ACTOR)
    w.then(at(11, 13))
    complaints.case_accept(case=cases["b"], actor=reviewer)
    w.then(at(11, 14))
    complaints.case_decide(
        case=cases["a"], outcome="resolved_other", note="已换货。", actor=reviewer
    )
    w.then(at(11, 18))
    complaints.case_decide(
        case=cases["b"], outcome="resolved_other", note="已换货。", actor=reviewer
    )
    cases["f"] = w.file(at(11, 24))
    w.then(TODAY)
    return cases


def build_measures(w: World) -> None:
    """Warnings on 15 Oct (appealed 20 Oct, upheld 22 Oct) and 4 Nov (appealed 12 Nov, pending);
    a suspension on 6 Nov (appealed 7 Nov, reversed 10 Nov); a warning on 1 Sep, before."""
    w.measure(at(9, 1))
    upheld = w.measure(at(10, 15))
    pending = w.measure(at(11, 4))
    reversed_ = w.measure(at(11, 6), kind="live_suspension", term_days=7)
    lead, lead2 = Actor.for_user(w.lead), Actor.for_user(w.lead2)
    w.then(at(10, 20))
    appeal = enforcement.appeal_file(measure=upheld, grounds="误判。", channel="api", actor=lead)
    w.then(at(10, 22))
    enforcement.appeal_decide(appeal=appeal, reverse=False, reason="证据充分。", actor=lead2)
    w.then(at(11, 7))
    appeal = enforcement.appeal_file(measure=reversed_, grounds="误判。", channel="web", actor=lead)
    w.then(at(11, 10))
    enforcement.appeal_decide(appeal=appeal, reverse=True, reason="回放无违规。", actor=lead2)
    w.then(at(11, 12))
    enforcement.appeal_file(measure=pending, grounds="误判。", channel="api", actor=lead)
    w.then(TODAY)


def build_patrol(w: World) -> None:
    """High-risk sessions: Mon 3 Nov inspected after 20 minutes (in time), Tue 4 Nov after an hour
    (late), Wed 5 Nov never (late), and one that went live 10 minutes ago (not due yet). A
    low-risk session inspected by a lead counts for the lead's load, not for coverage."""
    high2 = room_register(
        owner=w.merchant,
        platform_ref="room-d3",
        title="西子良品二号",
        category="food",
        followers=10,
        actor=TEST_ACTOR,
    )
    s1 = w.session(w.room, at(11, 3, 10))
    w.inspect(s1, at(11, 3, 10, 20))
    s2 = w.session(high2, at(11, 4, 10))
    w.inspect(s2, at(11, 4, 11))
    w.session(w.room, at(11, 5, 10))
    low = w.session(w.low_room, at(11, 5, 10))
    w.inspect(low, at(11, 5, 10, 5), user=w.lead)
    w.inspect(s2, at(11, 5, 11))
    w.session(high2, TODAY - timedelta(minutes=10))
    w.then(TODAY)
    # The rooms' grades as the nightly regrade would leave them (set last: filing complaints
    # regrades the merchant's rooms).
    LiveRoom.objects.filter(pk__in=[w.room.pk, high2.pk]).update(risk_grade="high")


def column(figure: Figure, key: str) -> tuple:
    return next(s for s in figure.series if s.key == key).values


# --- the period ---------------------------------------------------------------------------------


def test_the_default_period_is_twelve_weeks_from_a_monday():
    period = Period.default(date(2025, 11, 28))
    assert (period.start, period.end) == (date(2025, 9, 8), date(2025, 11, 28))
    assert len(period.weeks()) == 12 and period.weeks()[0] == date(2025, 9, 8)
    assert [m.month for m in period.months()] == [9, 10, 11]
    assert not period.is_long
    assert not Period(date(2025, 1, 1), date(2025, 12, 31)).is_long
    assert Period(date(2025, 1, 1), date(2026, 1, 1)).is_long
    # Over a year the weekly figures go by month.
    assert not Period(date(2024, 1, 1), date(2025, 6, 30)).weekly


# --- each figure --------------------------------------------------------------------------------


def test_complaints_and_reports_are_counted_by_the_week_they_were_filed(world):
    build_cases(world)
    figure = figures.cases_filed(Period.default())
    assert len(figure.categories) == 12
    assert figure.categories[WEEK_OF_3_NOV] == "2025-11-03"
    complaints_, reports = column(figure, "complaints"), column(figure, "reports")
    assert complaints_[WEEK_OF_3_NOV] == 3 and reports[WEEK_OF_3_NOV] == 1
    assert reports[WEEK_OF_10_NOV] == 1 and complaints_[WEEK_OF_24_NOV] == 1
    # The complaint of 1 September is before the period.
    assert sum(complaints_) == 4 and sum(reports) == 2
    assert column(figure, "total")[WEEK_OF_3_NOV] == 4


def test_deadline_compliance_counts_a_case_once_its_deadline_is_met_or_missed(world):
    build_cases(world)
    figure = figures.deadlines(Period.default())
    # Week of 3 Nov: accepted in time (a), refused in time (d), accepted late (b), never
    # decided and overdue (c): 2 of 4. Resolved in time (a), late (b): 1 of 2.
    assert column(figure, "acceptance_due")[WEEK_OF_3_NOV] == 4
    assert column(figure, "acceptance_in_time")[WEEK_OF_3_NOV] == 2
    assert column(figure, "acceptance")[WEEK_OF_3_NOV] == 50.0
    assert column(figure, "resolution_due")[WEEK_OF_3_NOV] == 2
    assert column(figure, "resolution")[WEEK_OF_3_NOV] == 50.0
    # The withdrawn report and the complaint not yet due are in no share: gaps, not zeros.
    assert column(figure, "acceptance")[WEEK_OF_10_NOV] is None
    assert column(figure, "acceptance")[WEEK_OF_24_NOV] is None
    assert figure.percent and figure.chart == "lines"


def test_measures_are_counted_by_kind_with_those_reversed_on_appeal(world):
    build_measures(world)
    figure = figures.measures_by_kind(Period.default())
    kinds = [kind.value for kind in MeasureKind]  # the ladder's order
    executed = dict(zip(kinds, column(figure, "executed"), strict=True))
    reversed_ = dict(zip(kinds, column(figure, "reversed"), strict=True))
    assert executed["warning"] == 2  # the one of 1 September is before the period
    assert executed["live_suspension"] == 1 and reversed_["live_suspension"] == 1
    assert sum(column(figure, "executed")) == 3 and sum(column(figure, "reversed")) == 1


def test_appeals_are_counted_per_month_by_outcome(world):
    build_measures(world)
    figure = figures.appeals(Period.default())
    assert figure.categories == ("2025-09", "2025-10", "2025-11")
    assert column(figure, "upheld") == (0, 1, 0)
    assert column(figure, "reversed") == (0, 0, 1)
    assert column(figure, "pending") == (0, 0, 1)
    assert figure.total("filed") == 3


def test_grades_count_parties_without_a_score_at_the_base_grade(world):
    merchants = [register_party(PartyKind.MERCHANT) for _ in range(2)]
    agency = register_party(PartyKind.AGENCY)
    anchor = register_party(PartyKind.ANCHOR)
    register_party(PartyKind.ANCHOR)  # registered, not approved, no score: not under evaluation
    Party.objects.filter(pk__in=[p.pk for p in [*merchants, agency, anchor]]).update(
        approved_at=timezone.now()
    )
    scoring.record(
        party=anchor,
        kind="sanction",
        rule="sanction.serious_dishonesty",
        points=scoring.price("sanction.serious_dishonesty"),
        source="test:sanction",
        occurred_at=timezone.now(),
    )
    assert scoring.update_score(anchor.pk).grade == "C"
    figure = figures.grades()
    assert figure.categories == ("A", "B", "C", "D", "E")
    assert column(figure, "merchant") == (2, 0, 0, 0, 0)
    assert column(figure, "agency") == (1, 0, 0, 0, 0)
    assert column(figure, "anchor") == (0, 0, 1, 0, 0)


def test_patrol_coverage_counts_high_risk_sessions_inspected_in_time(world):
    build_patrol(world)
    figure = figures.patrol_coverage(Period.default())
    assert column(figure, "sessions")[WEEK_OF_3_NOV] == 3
    assert column(figure, "in_time")[WEEK_OF_3_NOV] == 1
    assert column(figure, "coverage")[WEEK_OF_3_NOV] == 33.3
    # The session on air for 10 minutes is not due yet.
    assert sum(column(figure, "sessions")) == 3


def test_inspections_per_reviewer_are_named_on_the_dashboard_and_pseudonymous_in_exports(world):
    build_patrol(world)
    named = figures.inspections_per_reviewer(Period.default())
    assert [str(c) for c in named.categories] == ["patrol_wang", "lead_li"]
    assert column(named, "inspections") == (3, 1) and column(named, "sessions") == (2, 1)
    anonymous = figures.inspections_per_reviewer(Period.default(), named=False)
    assert [str(c) for c in anonymous.categories] == [_reviewer(1), _reviewer(2)]
    assert column(anonymous, "inspections") == (3, 1)


def test_every_figure_is_one_query(world, django_assert_num_queries):
    build_cases(world)
    build_measures(world)
    build_patrol(world)
    period = Period.default()
    scoring.rule_set_in_force()  # cached for a minute: not the figure's query
    for key in figures.FIGURES:
        with django_assert_num_queries(1):
            figures.figure(key, period)


# --- the charts ---------------------------------------------------------------------------------


def _figure(chart: str, values, percent=False) -> Figure:
    return Figure(
        key="demo",
        title="Demo <chart>",
        chart=chart,
        x_label="week starting",
        y_label="cases",
        categories=("2025-11-03", "2025-11-10", "2025-11-17"),
        ticks=("11-03", "11-10", "11-17"),
        series=(Series("a", "Complaints", values), Series("b", "hidden", (9, 9, 9), False)),
        percent=percent,
    )


def test_a_chart_has_its_title_legend_axes_and_a_tooltip_per_mark():
    svg = str(charts.render(_figure("stacked", (1, 4, 2))))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert "Demo &lt;chart&gt;" in svg  # escaped
    assert 'role="img"' in svg and 'aria-labelledby="demo-title demo-desc"' in svg
    assert "Complaints" in svg and "hidden" not in svg  # legend: plotted series only
    assert "week starting" in svg and ">cases<" in svg  # axis labels
    assert svg.count("<rect") == 3 + 1  # three bars and one legend swatch
    assert "2025-11-10 · Complaints: 4" in svg


def test_a_line_breaks_where_nothing_was_due():
    svg = str(charts.render(_figure("lines", (50.0, None, 100.0), percent=True)))
    # Two separate sub-paths, not one line through a zero.
    assert svg.count(" M") + svg.count('"M') == 2 and "L" not in svg.split('d="')[1].split('"')[0]
    # A marker with its tooltip on each point that has a value (and one in the legend).
    assert svg.count("<circle") == 3 and svg.count("<title>2025-11-") == 2
    assert "2025-11-17 · Complaints: 100%" in svg and ">100%<" in svg


def test_an_empty_period_says_so_and_horizontal_bars_name_each_category():
    assert gettext("Nothing to show") in str(charts.render(_figure("bars", (0, 0, 0))))
    svg = str(charts.render(_figure("hbars", (3, 0, 1))))
    assert all(tick in svg for tick in ("11-03", "11-10", "11-17"))


def test_a_share_of_nothing_is_drawn_and_a_period_with_nothing_due_is_empty():
    # One week with a high-risk session and none inspected in time: 0 %, a point on the chart.
    svg = str(charts.render(_figure("lines", (None, 0.0, None), percent=True)))
    assert gettext("Nothing to show") not in svg
    assert "2025-11-10 · Complaints: 0%" in svg
    nothing_due = str(charts.render(_figure("lines", (None, None, None), percent=True)))
    assert gettext("Nothing to show") in nothing_due


def test_the_table_formats_shares_and_gaps():
    table = charts.table(_figure("lines", (50.0, None, 33.3), percent=True))
    assert table["header"] == ["week starting", "Complaints", "hidden"]
    assert table["rows"][0] == ["2025-11-03", "50%", "9"]
    assert table["rows"][1] == ["2025-11-10", "—", "9"]
    assert table["rows"][2] == ["2025-11-17", "33.3%", "9"]


# --- the pages ----------------------------------------------------------------------------------


def login(user) -> Client:
    return verified_client(Client(), user)


def queries_of(client: Client, url: str) -> int:
    from django.core.cache import cache

    cache.clear()
    scoring.rule_set_in_force()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_dashboard_shows_every_figure_with_its_chart_and_table(world):
    build_cases(world)
    response = login(world.reviewer).get("/admin/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == len(
        figures.FIGURES
    )
    for key in figures.FIGURES:
        assert f'id="figure-{key}"' in html
        assert f"/admin/dashboard/figures/{key}/?start=2025-09-08&amp;end=2025-11-28" in html
    assert "<script" not in html.split("<svg", 1)[1]
    assert '<th scope="row">2025-11-03</th>' in html


def test_the_period_form_chooses_the_period_and_refuses_an_inverted_one(world):
    build_cases(world)
    client = login(world.reviewer)
    response = client.get(
        "/admin/dashboard/figures/cases/", {"start": "2025-11-03", "end": "2025-11-16"}
    )
    figure = response.context["section"]["figure"]
    assert figure.categories == ("2025-11-03", "2025-11-10")
    assert column(figure, "complaints") == (3, 0)
    response = client.get("/admin/dashboard/", {"start": "2025-11-16", "end": "2025-11-03"})
    assert response.status_code == 200
    assert response.context["form"].errors and response.context["period"] == Period.default()
    assert client.get("/admin/dashboard/figures/nothing/").status_code == 404


def test_the_admin_front_page_shows_the_charts_below_the_queues_linked_to_their_details(world):
    build_cases(world)
    response = login(world.reviewer).get("/admin/")
    html = response.content.decode()
    assert html.index('id="work-queues"') < html.index('id="dashboard"')
    panel = next(p for p in response.context["panels"] if p["key"] == "dashboard")
    keys = [s["figure"].key for s in panel["sections"]]
    assert keys == ["cases", "deadlines", "measures", "appeals", "grades", "patrol"]
    for key in keys:
        assert f'href="/admin/dashboard/figures/{key}/?start=2025-09-08&amp;end=2025-11-28"' in html
    assert html.count('class="chart chart-') == 6


def test_the_query_count_of_the_pages_does_not_grow_with_the_data(world):
    build_cases(world)
    build_measures(world)
    build_patrol(world)
    client = login(world.lead)
    dashboard, index = queries_of(client, "/admin/dashboard/"), queries_of(client, "/admin/")
    # Ten times the cases, more measures, sessions and inspections.
    for day in (3, 4, 5, 6, 7):
        for hour in (9, 10, 11, 14, 15, 16):
            world.file(at(11, day, hour))
    for day in (17, 18, 19):
        world.measure(at(11, day))
        session = world.session(world.room, at(11, day, 9))
        world.inspect(session, at(11, day, 9, 10))
    world.then(TODAY)
    assert Case.objects.count() > 30
    assert queries_of(client, "/admin/dashboard/") == dashboard
    assert queries_of(client, "/admin/") == index


# --- who may look -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("compliance_reviewer", 200),
        ("compliance_lead", 200),
        ("auditor", 200),
        ("authority_liaison", 403),
    ],
)
def test_staff_who_may_see_complaints_and_auditors_may_look(world, role, expected):
    client = login(UserFactory(roles=[role]))
    for url in (
        "/admin/dashboard/",
        "/admin/dashboard/figures/grades/",
        "/admin/dashboard/export/?start=2025-11-01&end=2025-11-28&output=csv&language=en",
    ):
        assert client.get(url).status_code == expected, url
    panels = [p["key"] for p in client.get("/admin/").context["panels"]]
    assert ("dashboard" in panels) == (expected == 200)


def test_anyone_else_is_sent_to_the_login(world):
    consumer = UserFactory(roles=["consumer"])
    assert not consumer.is_staff
    for client in (Client(), login(consumer)):
        response = client.get("/admin/dashboard/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- exports ------------------------------------------------------------------------------------


def test_the_csv_has_a_bom_and_one_section_per_figure(world):
    build_cases(world)
    build_patrol(world)
    response = login(world.reviewer).get(
        "/admin/dashboard/export/",
        {"start": "2025-09-08", "end": "2025-11-28", "output": "csv", "language": "en"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'attachment; filename="transparency-20250908-20251128.csv"'
        in response["Content-Disposition"]
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Transparency report"
    assert rows[1] == ["Period", "2025-09-08", "2025-11-28"]
    titles = [row[0] for row in rows if row and row[0].startswith("# ")]
    assert len(titles) == len(figures.FIGURES)
    cases_at = rows.index(["# Complaints and reports filed"])
    assert rows[cases_at + 1] == ["week starting", "Complaints", "Reports", "Total"]
    assert ["2025-11-03", "3", "1", "4"] in rows
    deadlines_at = rows.index(["# Deadline compliance"])
    assert rows[deadlines_at + 1][1] == "Accepted or refused in time (%)"
    assert ["2025-11-03", "50.0", "50.0", "2", "4", "1", "2"] in rows
    # Reviewers are not named in what leaves the admin.
    body = response.content.decode("utf-8-sig")
    assert "patrol_wang" not in body and "Reviewer 1" in body  # exported in English


def test_the_report_is_printable_with_the_charts_inline_and_the_numbers_in_tables(world, settings):
    settings.PLATFORM_NAME = "示例直播平台"
    build_cases(world)
    build_measures(world)
    build_patrol(world)
    response = login(world.reviewer).get(
        "/admin/dashboard/export/",
        {"start": "2025-09-08", "end": "2025-11-28", "output": "html", "language": "zh-hans"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Disposition"].startswith("inline")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "示例直播平台" in html and "2025-09-08 – 2025-11-28" in html
    assert "2025-11-28 12:00" in html  # generated at, Beijing time
    assert "@page { size: A4" in html
    assert html.count("<svg") == len(figures.FIGURES)
    assert html.count("<table") == len(figures.FIGURES) + 1  # and the headline numbers
    assert "<script" not in html and "<link" not in html  # self-contained
    assert "patrol_wang" not in html and "lead_li" not in html
    assert '<th scope="row">2025-11-03</th>' in html


def test_a_long_period_runs_as_a_job_whose_page_offers_the_file(world, committed):
    build_cases(world)
    client = login(world.lead)
    asked = {"start": "2023-12-01", "end": "2025-11-28", "output": "csv", "language": "en"}
    # The GET explains and changes nothing; the POST queues the job.
    response = client.get("/admin/dashboard/export/", asked)
    assert response.status_code == 200 and response.context["long"]
    assert not Job.objects.filter(kind=exports.JOB_KIND).exists()
    with committed():
        response = client.post("/admin/dashboard/export/", asked)
    job = Job.objects.get(kind=exports.JOB_KIND)
    assert (
        response.status_code == 302 and response["Location"] == f"/admin/dashboard/jobs/{job.pk}/"
    )
    assert job.status == Job.Status.DONE and job.done == job.total == exports.STEPS
    assert job.started_by == f"user:{world.lead.username}"
    page = client.get(response["Location"])
    assert b'http-equiv="refresh"' not in page.content
    download = page.context["download_url"]
    assert download == f"/admin/dashboard/jobs/{job.pk}/download/"
    file = client.get(download)
    assert file.status_code == 200
    assert 'filename="transparency-20231201-20251128.csv"' in file["Content-Disposition"]
    body = b"".join(file.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    # Over a year the weeks become months.
    assert ["2025-11", "4", "2", "6"] in rows


def test_a_running_job_page_refreshes_itself_and_has_nothing_to_download(world):
    job = Job.objects.create(
        kind=exports.JOB_KIND,
        status=Job.Status.RUNNING,
        done=3,
        total=exports.STEPS,
        started_by="user:lead_li",
        result={
            "params": {
                "start": "2023-01-01",
                "end": "2025-11-28",
                "output": "html",
                "language": "zh-hans",
            }
        },
    )
    client = login(world.reviewer)
    page = client.get(f"/admin/dashboard/jobs/{job.pk}/")
    assert b'<meta http-equiv="refresh" content="2">' in page.content
    assert b'<progress max="8" value="3">' in page.content
    assert page.context["download_url"] is None
    assert client.get(f"/admin/dashboard/jobs/{job.pk}/download/").status_code == 404
    # Only the dashboard's own jobs are shown here.
    other = Job.objects.create(kind="recompute", started_by="system")
    assert client.get(f"/admin/dashboard/jobs/{other.pk}/").status_code == 404


def test_the_job_runs_once_and_records_a_failure(world, monkeypatch):
    job = exports.report_job_start(
        period=Period(date(2023, 1, 1), date(2025, 11, 28)),
        output="csv",
        language="en",
        actor=TEST_ACTOR,
    )
    assert exports.report_job_run(job.pk).status == Job.Status.DONE
    first = Job.objects.get(pk=job.pk).result["file"]
    # Delivered twice: the finished job is left alone.
    assert exports.report_job_run(job.pk).result["file"] == first

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports, "render_export", broken)
    failing = exports.report_job_start(
        period=Period(date(2023, 1, 1), date(2025, 11, 28)),
        output="html",
        language="en",
        actor=TEST_ACTOR,
    )
    failed = exports.report_job_run(failing.pk)
    assert failed.status == Job.Status.FAILED and "database went away" in failed.error


def test_the_export_page_offers_the_default_period_and_refuses_a_bad_one(world):
    world.then(TODAY)
    client = login(world.reviewer)
    page = client.get("/admin/dashboard/export/")
    assert page.status_code == 200
    assert page.context["form"].initial["start"] == date(2025, 9, 8)
    bad = client.get(
        "/admin/dashboard/export/",
        {"start": "2025-11-28", "end": "2025-11-01", "output": "pdf", "language": "en"},
    )
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"output", "__all__"}
    assert not Job.objects.filter(kind=exports.JOB_KIND).exists()
