"""Demo live rooms: products, rooms graded by risk, sessions on air, a refused go-live."""

from datetime import timedelta

from django.utils import timezone

from accounts.demo import ACTOR, reviewer
from accounts.models import Party, PartyKind
from liverooms import services
from liverooms.models import Alert, AlertStatus, LiveRoom, LiveSession, SessionStatus
from merchants.services import product_register

# merchant platform_ref -> (room ref, title, category, followers, monthly sales in fen, products)
ROOMS = {
    "m-0001": (
        "r-0001",
        "西子良品官方直播间",
        "apparel",
        86_000,
        42_000_000,
        [("sku-silk", "真丝围巾", "apparel"), ("sku-bag", "手工编织包", "general")],
    ),
    "m-0002": (
        "r-0002",
        "义乌好物直播间",
        "general",
        1_250_000,
        260_000_000,
        [("sku-cup", "保温杯", "general"), ("sku-lamp", "护眼台灯", "general")],
    ),
    "m-0101": (
        "r-0101",
        "大山果园直播间",
        "agriculture",
        9_800,
        3_500_000,
        [("sku-orange", "爱媛果冻橙 5 斤装", "agriculture")],
    ),
    "m-0008": (
        "r-0008",
        "浦江母婴直播间",
        "infant_formula",
        430_000,
        180_000_000,
        [("sku-milk", "婴幼儿配方奶粉 3 段", "infant_formula")],
    ),
}

# A room that changed hands: the merchant of 义乌好物直播间 ran a session in it three days ago,
# then the platform moved the room, with its account, to the merchant of 大山果园直播间. The
# room's page shows both on its timeline, and the session stays the first one's (its operator).
MOVED = ("r-0009", "义乌茶礼直播间", "general", "m-0002", "m-0101", "a-0002")

# The pre-stream review each demo go-live confirms (LCM Art. 30, liverooms/review.py).
REVIEWED = {
    "script_reviewed": True,
    "set_reviewed": True,
    "products_reviewed": True,
    "reviewer": "直播运营 李晓",
}


def seed(*, context: dict, out) -> None:
    rooms = []
    for merchant_ref, (room_ref, title, category, followers, sales, products) in ROOMS.items():
        merchant = Party.objects.filter(kind=PartyKind.MERCHANT, platform_ref=merchant_ref).first()
        if merchant is None:
            continue
        for sku, name, product_category in products:
            product_register(
                merchant=merchant,
                platform_ref=sku,
                title=name,
                category=product_category,
                actor=ACTOR,
            )
        rooms.append(
            services.room_register(
                owner=merchant,
                platform_ref=room_ref,
                title=title,
                category=category,
                followers=followers,
                monthly_sales_fen=sales,
                actor=ACTOR,
            )
        )
    services.rooms_regrade()
    anchors = {
        p.platform_ref: p
        for p in Party.objects.filter(kind=PartyKind.ANCHOR, approved_at__isnull=False)
    }
    _room_that_changed_hands(anchors)
    pairs = [("r-0001", "a-0001"), ("r-0002", "a-0002"), ("r-0101", "a-0102")]
    for room_ref, anchor_ref in pairs:
        room = LiveRoom.objects.filter(platform_ref=room_ref).first()
        anchor = anchors.get(anchor_ref)
        if room is None or anchor is None:
            continue
        if LiveSession.objects.filter(room=room, status=SessionStatus.LIVE).exists():
            continue
        products = list(room.owner.products.all())
        outcome = services.session_start(
            room=room,
            anchors=[anchor],
            products=products,
            ai_generated=False,
            checklist=REVIEWED,
            actor=ACTOR,
        )
        if outcome.allowed:
            LiveSession.objects.filter(pk=outcome.session.pk).update(
                started_at=timezone.now() - timedelta(minutes=45)
            )
    # The infant-formula room has no advertising review on file: the gate refuses it.
    formula = LiveRoom.objects.filter(platform_ref="r-0008").first()
    if formula is not None and not formula.refusals.exists() and anchors.get("a-0001"):
        services.session_start(
            room=formula,
            anchors=[anchors["a-0001"]],
            products=list(formula.owner.products.all()),
            ai_generated=False,
            checklist=REVIEWED,
            actor=ACTOR,
        )
    # What the platform's speech-to-text and chat feed sent while the sessions were on air.
    spoken = [
        "家人们晚上好，今天的围巾都是真丝的，可以看一下质感",
        "这款是国家级的品质，全网最低价，错过就没有了",
        "想要更便宜的私聊我，加 薇❤信 单独转账给你们发货",
        "有问题可以在平台上联系客服，下单请走平台",
    ]
    for session in LiveSession.objects.filter(status=SessionStatus.LIVE):
        if session.alerts.exists():
            continue
        services.signals_ingest(
            session=session,
            signals=[
                {
                    "kind": "transcript",
                    "at": session.started_at + timedelta(minutes=5 + i),
                    "text": text,
                }
                for i, text in enumerate(spoken)
            ],
            actor=ACTOR,
        )
    # A reviewer has confirmed the lure in the largest room (kept as evidence): its grade turns
    # high, so the patrol queue, the coverage page and its "not inspected in time" list show a
    # high-risk session on air, 45 minutes in and not yet inspected.
    lure = (
        Alert.objects.filter(
            session__room__platform_ref="r-0002",
            session__status=SessionStatus.LIVE,
            rule__code="offline_transaction_lure",
            status=AlertStatus.OPEN,
        )
        .order_by("pk")
        .first()
    )
    if lure is not None:
        services.alert_decide(
            alert=lure,
            status=AlertStatus.CONFIRMED,
            note="已核实：主播引导观众加微信私下转账，存证。",
            actor=reviewer(),
        )
    on_air = LiveSession.objects.filter(status=SessionStatus.LIVE).count()
    out.write(f"Live rooms: {LiveRoom.objects.count()} rooms, {on_air} sessions on air.")


def _room_that_changed_hands(anchors: dict) -> None:
    ref, title, category, seller_ref, buyer_ref, anchor_ref = MOVED
    if LiveRoom.objects.filter(platform_ref=ref).exists():
        return
    merchants = {
        p.platform_ref: p
        for p in Party.objects.filter(
            kind=PartyKind.MERCHANT, platform_ref__in=[seller_ref, buyer_ref]
        )
    }
    seller, buyer, anchor = (
        merchants.get(seller_ref),
        merchants.get(buyer_ref),
        anchors.get(anchor_ref),
    )
    if seller is None or buyer is None or anchor is None:
        return
    fields = {"title": title, "category": category, "followers": 21_000, "actor": ACTOR}
    room = services.room_register(owner=seller, platform_ref=ref, **fields)
    outcome = services.session_start(
        room=room,
        anchors=[anchor],
        products=list(seller.products.all()),
        ai_generated=False,
        checklist=REVIEWED,
        actor=ACTOR,
    )
    if outcome.allowed:
        services.session_end(session=outcome.session, reason="本场直播结束", actor=ACTOR)
        started = timezone.now() - timedelta(days=3)
        LiveSession.objects.filter(pk=outcome.session.pk).update(
            started_at=started, ended_at=started + timedelta(hours=2)
        )
    services.room_register(owner=buyer, platform_ref=ref, **fields)
