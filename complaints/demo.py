"""Demo complaints, reports and evaluations (`manage.py seed_demo`).

Cases are filed and moved on through the real services, so their clocks, assignments, timelines
and the rooms' risk grades are what production would show. Each demo case is found again by its
facts, each evaluation by its order number: a second run adds nothing.

Cases dated in the past come in through the platform (source API, with `received_at`), as a
complaint made days ago in the app and forwarded now would: their clocks count from receipt while
their timeline starts today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.actors import Actor
from accounts.demo import demo_image
from accounts.models import Party, PartyKind, User
from accounts.uploads import clean_image
from complaints import services
from complaints.models import (
    Case,
    CaseEvent,
    CaseKind,
    Evaluation,
    Notification,
    ReplyTemplate,
    ReviewerCapacity,
    Source,
)
from liverooms.models import LiveSession, SessionStatus

CONSUMER = Actor(label="consumer")

TEMPLATES = [
    (
        "受理通知 / Accepted",
        "",
        "您好，您的投诉已受理，我们已联系商家核实情况，将在处理期限内给您答复。",
        "Hello, your complaint has been accepted. We have contacted the merchant and will reply "
        "before the resolution date.",
    ),
    (
        "请补充材料 / Please send more",
        "complaint",
        "您好，为便于核实，请在跟踪页面上传订单截图及商品照片（最多 9 张）。"
        "补充前处理期限暂停计算。",
        "Hello, to check your complaint please upload a screenshot of the order and photos of "
        "the goods on your tracking page (up to 9). The deadlines are paused until then.",
    ),
    (
        "退款已完成 / Refund made",
        "complaint",
        "您好，经核实商家宣传与实物不符，商家已同意全额退款，款项将在 1-3 个工作日内原路退回。",
        "Hello, we found the product did not match the stream's description. The merchant has "
        "agreed to a full refund, returned to your original payment method within 1-3 working "
        "days.",
    ),
]


@dataclass
class DemoCase:
    facts: str  # unique among the demo cases: how a second run finds it
    merchant: str = ""  # platform_ref
    anchor: str = ""
    room: str = ""  # the room whose live session it is about
    kind: str = CaseKind.COMPLAINT
    days_ago: int = 0  # > 0: forwarded by the platform, received that many days ago
    platform_ref: str = ""
    values: dict = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    # What happens after filing: a list of steps, see _drive.
    steps: tuple[str, ...] = ()


CASES = [
    DemoCase(
        facts="直播间宣称围巾为 100% 桑蚕丝，收到后吊牌成分为涤纶，与描述不符。",
        merchant="m-0001",
        anchor="a-0001",
        room="r-0001",
        values=dict(
            order_number="DY20251101000001",
            purchase="真丝围巾（米白）",
            category="false_advertising",
            request="refund",
            contact_name="王女士",
            contact_email="wang.demo@example.com",
            contact_phone="13800001111",
        ),
        evidence=("care label: 100% polyester",),
    ),
    DemoCase(
        # The same buyer about the same order, a few hours later: flagged as a possible duplicate.
        facts="补充：主播在直播中多次说“真丝”，客服拒绝退货，要求退款。",
        merchant="m-0001",
        room="r-0001",
        values=dict(
            order_number="DY20251101000001",
            purchase="真丝围巾",
            category="after_sales",
            request="refund",
            contact_name="王女士",
            contact_email="wang.demo@example.com",
        ),
    ),
    DemoCase(
        facts="保温杯使用一周后内胆脱漆，担心有害物质，要求退货。",
        merchant="m-0002",
        anchor="a-0002",
        days_ago=3,
        platform_ref="demo-app-20003",
        values=dict(
            order_number="DY20251029000077",
            purchase="保温杯 500ml",
            category="quality",
            request="return",
            contact_name="李先生",
            contact_phone="13900002222",
            contact_email="li.demo@example.com",
        ),
        steps=("accept",),
    ),
    DemoCase(
        facts="The lamp ordered in the live stream arrived broken and the seller has not replied.",
        merchant="m-0002",
        values=dict(
            order_number="DY20251102000310",
            purchase="Eye-care desk lamp",
            category="delivery",
            request="return",
            contact_name="Emma",
            contact_email="emma.demo@example.com",
            language="en",
        ),
        steps=("request_info",),
    ),
    DemoCase(
        facts="直播间标价 199 元的真丝围巾实际为化纤，商家拒绝退款。",
        merchant="m-0001",
        anchor="a-0001",
        days_ago=8,
        platform_ref="demo-app-20005",
        values=dict(
            order_number="DY20251020000456",
            purchase="真丝围巾（藏青）",
            category="false_advertising",
            request="refund",
            contact_name="赵女士",
            contact_email="zhao.demo@example.com",
        ),
        steps=("accept", "reply_refund", "decide_refund"),
    ),
    DemoCase(
        facts="果冻橙收到时大面积腐烂，商家只愿意补发一半，要求赔偿。",
        merchant="m-0101",
        anchor="a-0102",
        days_ago=12,
        platform_ref="demo-app-20006",
        values=dict(
            order_number="DY20251015000888",
            purchase="爱媛果冻橙 5 斤装",
            category="quality",
            request="compensation",
            contact_name="孙先生",
            contact_phone="13700003333",
            contact_email="sun.demo@example.com",
        ),
        evidence=("rotten oranges",),
        steps=("accept", "decide_compensation", "confirm", "rate"),
    ),
    DemoCase(
        # Forwarded late by the platform: its acceptance date has already passed.
        facts="手工编织包线头松脱，联系客服两周无人处理。",
        merchant="m-0001",
        days_ago=21,
        platform_ref="demo-app-20007",
        values=dict(
            order_number="DY20251008000123",
            purchase="手工编织包",
            category="after_sales",
            request="other",
            request_detail="维修或换货",
            contact_name="周女士",
            contact_email="zhou.demo@example.com",
        ),
    ),
    DemoCase(
        kind=CaseKind.REPORT,
        facts="主播在直播中说“想要更便宜的私聊我，加微信单独转账”，引导脱离平台交易。",
        room="r-0002",
        values=dict(
            report_category="offline_transaction",
            stream_offset=timedelta(minutes=7),
            contact_email="report.demo@example.com",
        ),
    ),
]

# order number -> evaluation; the last one is hidden by a reviewer, with the reason.
EVALUATIONS = [
    dict(
        order_number="DY20251025000011",
        merchant="m-0001",
        anchor="a-0001",
        room="r-0001",
        stars=(5, 5, 4, 5),
        text="围巾质感很好，主播介绍得很详细，发货也快。",
        order_found=True,  # the platform confirmed the order: it counts
    ),
    dict(
        order_number="DY20251026000022",
        merchant="m-0002",
        stars=(3, 4, 2, None),
        text="杯子还行，物流太慢了，等了一周。",
        platform_ref="demo-ev-20022",
    ),
    dict(
        order_number="DY20251027000033",
        merchant="m-0101",
        anchor="a-0102",
        stars=(2, 3, 3, 2),
        text="橙子没有直播里说的那么甜。",
        # No answer from the platform yet: stored, not counted.
    ),
    dict(
        order_number="DY20251028000044",
        merchant="m-0001",
        stars=(1, 1, 1, None),
        text="垃圾店铺！！客服电话 13912345678 打爆他们",
        hide="含他人联系方式并煽动骚扰（个人信息保护法第十条），依规隐藏。",
        order_found=False,  # the platform knows no such order
    ),
]


def _party(kind: str, ref: str) -> Party | None:
    if not ref:
        return None
    return Party.objects.filter(kind=kind, platform_ref=ref).first()


def _session(room_ref: str) -> LiveSession | None:
    """The room's session on air, else its latest: a consumer complains after the stream too."""
    if not room_ref:
        return None
    sessions = LiveSession.objects.filter(room__platform_ref=room_ref)
    return (
        sessions.filter(status=SessionStatus.LIVE).order_by("-id").first()
        or sessions.order_by("-id").first()
    )


def _staff(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    return Actor.for_user(user) if user else None


def _drive(case: Case, steps: tuple[str, ...], reviewer: Actor) -> Case:
    templates = {t.name: t for t in ReplyTemplate.objects.all()}
    for step in steps:
        if step == "accept":
            case = services.case_accept(
                case=case,
                actor=reviewer,
                message=templates[TEMPLATES[0][0]].body_for(case.language),
            )
        elif step == "request_info":
            case = services.case_request_info(
                case=case,
                message=templates[TEMPLATES[1][0]].body_for(case.language),
                actor=reviewer,
            )
        elif step == "reply_refund":
            services.case_reply(
                case=case, text=templates[TEMPLATES[2][0]].body_for(case.language), actor=reviewer
            )
        elif step == "decide_refund":
            case = services.case_decide(
                case=case,
                outcome="refund",
                note="商家宣传与实物不符，已全额退款 199 元。",
                refund_fen=19900,
                actor=reviewer,
            )
        elif step == "decide_compensation":
            case = services.case_decide(
                case=case,
                outcome="compensation",
                note="商家补发一半并赔偿 50 元。",
                compensation_fen=5000,
                actor=reviewer,
            )
        elif step == "confirm":
            case = services.case_confirm(case=case)
        elif step == "rate":
            case = services.case_rate(case=case, rating=4, comment="处理及时，谢谢。")
        else:  # pragma: no cover - a typo in CASES
            raise ValueError(step)
    return case


def _file(spec: DemoCase) -> Case | None:
    session = _session(spec.room)
    if spec.kind == CaseKind.REPORT and session is None:
        return None
    merchant = _party(PartyKind.MERCHANT, spec.merchant)
    if spec.kind == CaseKind.COMPLAINT and merchant is None and session is None:
        return None
    data = services.CaseInput(
        kind=spec.kind,
        facts=spec.facts,
        merchant=merchant,
        anchor=_party(PartyKind.ANCHOR, spec.anchor),
        session=session,
        evidence=[clean_image(demo_image(label)) for label in spec.evidence],
        **spec.values,
    )
    if spec.days_ago:
        return services.case_file(
            data=data,
            source=Source.API,
            actor=Actor(label="api:demo-platform"),
            received_at=timezone.now() - timedelta(days=spec.days_ago),
            platform_ref=spec.platform_ref,
        ).case
    return services.case_file(data=data, source=Source.WEB, actor=CONSUMER).case


def _evaluations(reviewer: Actor) -> None:
    for spec in EVALUATIONS:
        if Evaluation.objects.filter(order_number=spec["order_number"]).exists():
            continue
        merchant = _party(PartyKind.MERCHANT, spec["merchant"])
        if merchant is None:
            continue
        description, service, logistics, honesty = spec["stars"]
        anchor = _party(PartyKind.ANCHOR, spec.get("anchor", ""))
        evaluation, _created = services.evaluation_submit(
            merchant=merchant,
            anchor=anchor,
            session=_session(spec.get("room", "")),
            order_number=spec["order_number"],
            stars_description=description,
            stars_service=service,
            stars_logistics=logistics,
            stars_anchor_honesty=honesty if anchor else None,
            text=spec["text"],
            source=Source.API if spec.get("platform_ref") else Source.WEB,
            platform_ref=spec.get("platform_ref", ""),
        )
        if "order_found" in spec:
            services.evaluation_order_checked(
                evaluation=evaluation,
                found=spec["order_found"],
                actor=Actor(label="api:demo-platform"),
            )
        if spec.get("hide"):
            services.evaluation_hide(evaluation=evaluation, reason=spec["hide"], actor=reviewer)


def seed(*, context: dict, out) -> None:
    from complaints.notifications import tracking_url

    reviewer = _staff("reviewer1")
    if reviewer is None:
        return
    for username, room in (("reviewer1", 30), ("reviewer2", 30)):
        user = User.objects.get(username=username)
        ReviewerCapacity.objects.get_or_create(user=user, defaults={"max_open_cases": room})
    for name, kind, body_zh, body_en in TEMPLATES:
        ReplyTemplate.objects.get_or_create(
            name=name, defaults={"kind": kind, "body_zh": body_zh, "body_en": body_en}
        )

    started = timezone.now()
    demo_ids = []
    for spec in CASES:
        case = Case.objects.filter(facts=spec.facts).first()
        if case is None:
            case = _file(spec)
            if case is None:
                continue  # its party or live session is not in the demo registry
            case = _drive(case, spec.steps, reviewer)
        demo_ids.append(case.pk)
    # The case forwarded late is overdue: the lead's queue gets it, as the beat task would do.
    services.escalate_overdue(actor=Actor.system("escalate_overdue"))
    _evaluations(reviewer)

    # The demo consumers' and leads' addresses are made up, and printing some twenty e-mails on
    # the console would bury the sign-in details: the seeded events are marked as notified. Any
    # change made afterwards in the admin e-mails as usual.
    unsent = (
        CaseEvent.objects.filter(case_id__in=demo_ids, at__gte=started)
        .filter(Q(public=True) | Q(kind=CaseEvent.Kind.ESCALATED))
        .exclude(kind__in=[CaseEvent.Kind.EVIDENCE_ADDED, CaseEvent.Kind.RATED])
    )
    unsent = list(unsent)
    Notification.objects.bulk_create(
        [Notification(event=event, recipient="seed_demo") for event in unsent]
    )
    CaseEvent.objects.filter(pk__in=[event.pk for event in unsent]).update(notice_pending=False)

    cases = Case.objects.filter(pk__in=demo_ids).order_by("kind", "received_at", "pk")
    out.write(
        f"Complaints and reports: {len(cases)} demo cases, "
        f"{Evaluation.objects.count()} evaluations. Private tracking links:"
    )
    for case in cases:
        flag = " (possible duplicate)" if case.possible_duplicate_of_id else ""
        flag += " (escalated)" if case.escalated_at else ""
        out.write(f"  {case.tracking_code}  {case.status:<18}{flag}  {tracking_url(case)}")
