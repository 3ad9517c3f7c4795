"""Demo enforcement (`manage.py seed_demo`): deposit requirements and the merchants' deposits, an
authority, and violations and measures in the states a reviewer and a lead work with.

Violations are raised, confirmed, proposed, approved and appealed through the real services, by
the demo staff, so that timelines, restrictions, the ledger and the public notices are what
production would show. Each demo violation is found again by its facts: a second run adds nothing.

The requirements are set so that the demo's live sessions still pass the go-live gate's deposit
check (enforcement.checks): every merchant with a room holds at least what its products' categories
require, and still does after the deductions below, the pending one included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Party, PartyKind, User
from enforcement import services
from enforcement.models import (
    Authority,
    AuthorityKind,
    AuthorityLevel,
    DepositRequirement,
    Measure,
    MeasureEvent,
    MeasureKind,
    MeasureStatus,
    Violation,
    ViolationSource,
    ViolationType,
)
from enforcement.services.base import measure_event
from liverooms.models import Alert

PLATFORM = Actor(label="api:demo-platform")

# Category -> the deposit a merchant selling in it holds (fen): the platform's commercial policy.
REQUIREMENTS = {
    "general": 200_000,
    "cosmetics": 1_000_000,
    "food": 2_000_000,
    "health_food": 5_000_000,
    "infant_formula": 5_000_000,
}
# Merchant -> what it paid into its deposit (fen), as the platform's payment system reports it.
# m-0001 keeps 5,000 yuan after the pending deduction; m-0008's room is refused for its missing
# advertising review, and for nothing else.
TOP_UPS = {
    "m-0001": 1_000_000,
    "m-0002": 500_000,
    "m-0008": 5_000_000,
    "m-0101": 1_000_000,
}
AUTHORITY = {
    "name": "杭州市滨江区市场监督管理局",
    "kind": AuthorityKind.MARKET_REGULATOR,
    "level": AuthorityLevel.COUNTY,
    "email": "referrals@binjiang-amr.example",
}


@dataclass
class DemoViolation:
    facts: str  # unique among the demo violations: how a second run finds it
    party: tuple[str, str]  # (kind, platform_ref)
    source: str
    alert_word: str = ""  # link the monitoring alert on the party's room whose excerpt has it
    reference: tuple[str, str] = ("", "")  # (platform record, what it shows)
    vtype: str = ""  # empty: left suspected, for triage
    proposal: dict = field(default_factory=dict)
    proposer: str = "reviewer1"
    approve: bool = False  # a lead approves the severe proposal (and the money worker runs)
    appeal: str = ""  # grounds the platform forwards for the party


VIOLATIONS = [
    DemoViolation(
        facts="主播在直播中口播“想要更便宜的私聊我，加薇信单独转账”，疑似引导用户线下交易。",
        party=(PartyKind.MERCHANT, "m-0002"),
        source=ViolationSource.ALERT,
        alert_word="转账",
    ),
    DemoViolation(
        facts="直播中称保温杯为“国家级的品质，全网最低价”，使用绝对化用语。",
        party=(PartyKind.MERCHANT, "m-0002"),
        source=ViolationSource.ALERT,
        alert_word="国家级",
        vtype="absolute_terms",
        proposal={
            "kind": MeasureKind.NOTICE_TO_CORRECT,
            "reason": "直播中使用“国家级”“全网最低价”等绝对化用语，违反《广告法》第九条。"
            "请删除相关话术并在下场直播前提交整改后的脚本。",
            "correct_by": 7,  # days from today
        },
    ),
    DemoViolation(
        facts="巡查发现主播在 10 月 28 日直播中使用机器人账号批量刷评论和点赞，虚构直播间热度。",
        party=(PartyKind.ANCHOR, "a-0003"),
        source=ViolationSource.INSPECTION,
        reference=(
            "replay:2025-10-28/a-0003",
            "直播回放及互动日志：同一批账号 3 分钟内评论 400 条",
        ),
        vtype="fake_sales_reviews",
        proposal={
            "kind": MeasureKind.LIVE_SUSPENSION,
            "reason": "经核查，主播在直播中组织机器人账号刷评论和点赞，虚构直播间热度，"
            "误导消费者。暂停直播功能 7 天。",
            "term_days": 7,
        },
        appeal="刷评论系第三方恶意所为，主播本人不知情，已向平台提交相关账号的举报记录，申请复核。",
    ),
    DemoViolation(
        facts="主播在直播间评论区反复发布与商品无关的引流广告。",
        party=(PartyKind.ANCHOR, "a-0002"),
        source=ViolationSource.REVIEWER,
        reference=("chat:r-0002/2025-11-02", "直播间评论区截图"),
        vtype="harassing_ads",
        proposal={
            "kind": MeasureKind.WARNING,
            "reason": "在直播间评论区反复发布与商品无关的引流广告，予以警告。",
        },
    ),
    DemoViolation(
        facts="店铺组织亲友虚假下单后集中退货，骗取平台新商家补贴，涉及订单 36 笔。",
        party=(PartyKind.MERCHANT, "m-0101"),
        source=ViolationSource.REVIEWER,
        reference=("orders:m-0101/2025-10", "36 笔订单的下单与退货记录"),
        vtype="fake_returns",
        proposal={
            "kind": MeasureKind.DEPOSIT_DEDUCTION,
            "reason": "店铺组织虚假下单并退货，骗取平台补贴，扣除保证金 5,000 元。",
            "amount_fen": 500_000,
        },
        proposer="reviewer2",
        approve=True,
    ),
    DemoViolation(
        facts="客服在私信中引导消费者通过微信转账购买围巾，绕开平台交易。",
        party=(PartyKind.MERCHANT, "m-0001"),
        source=ViolationSource.REVIEWER,
        reference=("im:m-0001/2025-11-01", "客服私信记录截图"),
        vtype="offline_transaction",
        proposal={
            "kind": MeasureKind.DEPOSIT_DEDUCTION,
            "reason": "客服引导消费者通过微信转账交易，绕开平台，扣除保证金 5,000 元。",
            "amount_fen": 500_000,
        },
    ),
]


def _staff(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    return Actor.for_user(user) if user else None


def _deposits() -> None:
    for category, amount in REQUIREMENTS.items():
        DepositRequirement.objects.get_or_create(
            category=category, defaults={"amount_fen": amount, "updated_by": "seed_demo"}
        )
    for ref, amount in TOP_UPS.items():
        merchant = Party.objects.filter(kind=PartyKind.MERCHANT, platform_ref=ref).first()
        if merchant is not None:
            # The payment reference is the idempotency key: a second run posts nothing.
            services.top_up(
                party=merchant, amount_fen=amount, reference=f"demo-deposit-{ref}", actor=PLATFORM
            )


def _evidence(violation: Violation, spec: DemoViolation, actor: Actor) -> None:
    if spec.alert_word:
        alert = (
            Alert.objects.filter(session__owner=violation.party, excerpt__contains=spec.alert_word)
            .order_by("id")
            .first()
        )
        if alert is not None:
            services.evidence_link(violation=violation, alert=alert, actor=actor)
    reference, description = spec.reference
    if reference:
        services.evidence_link(
            violation=violation, reference=reference, description=description, actor=actor
        )


def _proposal(spec: DemoViolation) -> services.Proposal:
    values = dict(spec.proposal)
    if "correct_by" in values:
        values["correct_by"] = timezone.localdate() + timedelta(days=values["correct_by"])
    return services.Proposal(**values)


def _drive(spec: DemoViolation, party: Party, staff: dict[str, Actor]) -> Measure | None:
    reviewer = staff[spec.proposer]
    violation = services.violation_raise(
        party=party, source=spec.source, facts=spec.facts, actor=reviewer
    )
    _evidence(violation, spec, reviewer)
    if not spec.vtype:
        return None
    vtype = ViolationType.objects.get(code=spec.vtype, status="published")
    violation = services.violation_confirm(violation=violation, vtype=vtype, actor=reviewer)
    measure = services.measure_propose(
        violation=violation, proposal=_proposal(spec), actor=reviewer
    )
    if spec.approve:
        measure = services.measure_approve(measure=measure, actor=staff["lead"], note="同意。")
        if measure.status == MeasureStatus.EXECUTING:
            # What the `money` worker does after commit, done now so that the demo shows the
            # entry; the worker then finds the measure executed and does nothing.
            services.deduction_carry_out(measure.pk)
    if spec.appeal:
        services.appeal_file(measure=measure, grounds=spec.appeal, channel="api", actor=PLATFORM)
    return measure


def _statements_not_emailed(measure_ids: list[int]) -> None:
    """The demo parties' addresses are made up, and the statements printed on the console would
    bury the sign-in details: the statements of this run are recorded as delivered here, which
    the worker then respects. Measures taken afterwards in the admin e-mail theirs as usual."""
    actor = Actor.system("seed_demo")
    unsent = Measure.objects.filter(
        pk__in=measure_ids, executed_at__isnull=False, statement_sent_at__isnull=True
    )
    for measure in list(unsent):
        measure_event(measure, MeasureEvent.Kind.STATEMENT_SENT, actor, email=False, demo=True)
    unsent.update(statement_sent_at=timezone.now())


def seed(*, context: dict, out) -> None:
    from enforcement.services.statements import statement_url

    staff = {name: _staff(name) for name in ("reviewer1", "reviewer2", "lead")}
    if None in staff.values():
        return
    _deposits()
    Authority.objects.get_or_create(name=AUTHORITY["name"], defaults=AUTHORITY)

    taken = []
    for spec in VIOLATIONS:
        if Violation.objects.filter(facts=spec.facts).exists():
            continue
        kind, ref = spec.party
        party = Party.objects.filter(kind=kind, platform_ref=ref).first()
        if party is None:
            continue  # not in the demo registry
        measure = _drive(spec, party, staff)
        if measure is not None:
            taken.append(measure.pk)
    _statements_not_emailed(taken)

    demo = Measure.objects.filter(violation__facts__in=[spec.facts for spec in VIOLATIONS])
    out.write(
        f"Enforcement: {Violation.objects.count()} violations, {Measure.objects.count()} "
        "measures. Statements of reasons (the party's private links):"
    )
    for measure in demo.filter(executed_at__isnull=False).select_related("party"):
        out.write(
            f"  {measure.kind:<18} {measure.status:<9} {measure.party.name}  "
            f"{statement_url(measure)}"
        )
