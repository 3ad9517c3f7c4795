"""The live-room pages as a reviewer reads them: words rather than codes and JSON, links between
a room, its sessions and its alerts, and Chinese text that a narrow column does not stand on
end."""

from datetime import UTC, datetime

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone

from liverooms import services
from liverooms.models import Alert, GoLiveRefusal, LiveSession, MonitoringRule, SignalBatch
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/liverooms"


@pytest.fixture
def reviewer(client):
    return verified_client(client, UserFactory(roles=["compliance_reviewer"]))


def on_air(world) -> LiveSession:
    response = world.go_live()
    assert response.status_code == 201, response.content
    return LiveSession.objects.get(pk=response.json()["id"])


def raise_alert(session) -> Alert:
    received = services.signals_ingest(
        session=session,
        signals=[{"kind": "chat", "at": timezone.now(), "text": "加微信私聊转账"}],
        actor=TEST_ACTOR,
    )
    assert received.alerts
    return received.alerts[0]


def test_a_room_s_page_shows_its_grade_in_words_and_leads_to_its_records(world, reviewer):
    world.room.monthly_sales_fen = 260_000_000
    world.room.save(update_fields=["monthly_sales_fen"])
    services.rooms_regrade(room_ids=[world.room.pk])
    page = reviewer.get(f"{ADMIN}/liveroom/{world.room.pk}/change/").content.decode()
    assert '<div class="readonly">12,000</div>' in page  # followers
    listed = reviewer.get(f"{ADMIN}/liveroom/").content.decode()
    assert '<td class="field-followers_counted">12,000</td>' in listed
    assert '<div class="readonly">¥2,600,000.00</div>' in page  # sales, kept in fen
    assert "<li>粉丝数: 10</li>" in page and "<li>近 30 天销售额: 20</li>" in page
    for listing in (
        f"{ADMIN}/livesession/?room__id__exact={world.room.pk}",
        f"{ADMIN}/goliverefusal/?room__id__exact={world.room.pk}",
        f"{ADMIN}/alert/?session__room__id__exact={world.room.pk}",
    ):
        assert f'href="{listing}"' in page
        assert reviewer.get(listing).status_code == 200


def test_a_room_s_alerts_link_lists_that_room_s_alerts_only(world, reviewer):
    from liverooms.models import LiveRoom
    from tests.liverooms.test_patrol import on_air_in

    mine = raise_alert(on_air(world))
    elsewhere = LiveRoom.objects.create(
        owner=world.merchant, platform_ref="room-2", title="另一个直播间", category="apparel"
    )
    raise_alert(on_air_in(world, elsewhere))
    listed = reviewer.get(f"{ADMIN}/alert/?session__room__id__exact={world.room.pk}")
    assert [a.pk for a in listed.context["cl"].result_list] == [mine.pk]


def test_a_session_s_page_shows_its_products_review_and_the_way_to_inspect(world, reviewer):
    session = on_air(world)
    page = reviewer.get(f"{ADMIN}/livesession/{session.pk}/change/").content.decode()
    assert str(world.product) in page  # the products shown, an inline of their own
    assert "<li>脚本已审核: 是</li>" in page and "<li>直播场景已审核: 是</li>" in page
    assert "&quot;script_reviewed&quot;" not in page  # not the stored JSON
    assert f'href="{ADMIN}/livesession/{session.pk}/inspect/"' in page


def test_the_alert_list_links_each_alert_to_its_session_by_room(world, reviewer):
    session = on_air(world)
    raise_alert(session)
    page = reviewer.get(f"{ADMIN}/alert/").content.decode()
    assert f'<a href="{ADMIN}/livesession/{session.pk}/change/">{world.room.title}</a>' in page


def test_the_patrol_queue_marks_the_order_it_is_in(world, reviewer):
    response = reviewer.get(f"{ADMIN}/livesession/", {"status__exact": "live"})
    changelist = response.context["cl"]
    columns = changelist.get_ordering_field_columns()
    shown = changelist.list_display
    # Riskiest first, then longest on air: the arrows say so, not the model's newest first.
    assert columns == {shown.index("risk"): "desc", shown.index("started_at"): "asc"}


def test_titles_give_times_in_beijing_time(world):
    at = datetime(2026, 12, 2, 2, 15, 23, tzinfo=UTC)  # 10:15:23 in Beijing
    refusal = GoLiveRefusal(room=world.room, at=at, reasons=[])
    assert str(refusal) == f"{world.room} @ 2026-12-02 10:15"
    batch = SignalBatch(session_id=1, signals=4, received_at=at)
    assert str(batch) == "1: 4 @ 2026-12-02 10:15:23"


def test_an_inspection_refused_for_a_field_says_so_once_beside_it(world, reviewer):
    session = on_air(world)
    response = reviewer.post(
        f"{ADMIN}/livesession/{session.pk}/inspect/", {"result": "correction_requested"}
    )
    form = response.context["form"]
    assert form.errors == {"findings": ["请描述发现的问题。"]}
    assert response.content.decode().count("请描述发现的问题。") == 1


def test_every_admin_page_carries_the_admin_stylesheet(reviewer):
    assert finders.find("site/admin.css")
    assert "/static/site/admin.css" in reviewer.get("/admin/").content.decode()


def test_rule_categories_are_named_in_words_in_the_lists_and_their_filters(world, client):
    session = on_air(world)
    raise_alert(session)  # an offline-transaction lure
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    rules = lead.get(f"{ADMIN}/monitoringrule/")
    page = rules.content.decode()
    assert '<td class="field-category_named">引导站外交易</td>' in page
    assert "offline_transaction</a>" not in page  # the filter's choice is named too
    only = lead.get(f"{ADMIN}/monitoringrule/", {"category": "offline_transaction"})
    assert {r.category for r in only.context["cl"].result_list} == {"offline_transaction"}
    alerts = lead.get(f"{ADMIN}/alert/").content.decode()
    assert ">引导站外交易</a>" in alerts


def test_the_search_boxes_say_what_they_search(reviewer):
    for listing in ("liveroom", "livesession", "alert", "goliverefusal"):
        response = reviewer.get(f"{ADMIN}/{listing}/")
        assert response.context["cl"].search_help_text, listing
        assert "平台直播间编号" in response.content.decode(), listing


def test_an_alert_s_page_shows_it_with_the_way_to_decide_and_no_save_button(world, client):
    alert = raise_alert(on_air(world))
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    page = lead.get(f"{ADMIN}/alert/{alert.pk}/change/").content.decode()
    assert f'href="{ADMIN}/alert/{alert.pk}/decide/"' in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    # The list's actions still decide.
    done = lead.post(
        f"{ADMIN}/alert/", {"action": "confirm", "_selected_action": [alert.pk]}, follow=True
    )
    assert done.status_code == 200
    alert.refresh_from_db()
    assert alert.status == "confirmed"


def test_a_rule_draft_is_saved_without_an_offer_to_add_another(world, client):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    page = lead.get(f"{ADMIN}/monitoringrule/add/").content.decode()
    assert 'name="_addanother"' not in page and 'name="_save"' in page


def test_a_refusal_s_room_leads_to_the_room(world, reviewer):
    from merchants.services import product_set_listing_status

    product_set_listing_status(product=world.product, status="removed", actor=TEST_ACTOR)
    assert world.go_live().status_code == 403
    page = reviewer.get(f"{ADMIN}/goliverefusal/").content.decode()
    assert f'<a href="{ADMIN}/liveroom/{world.room.pk}/change/">{world.room}</a>' in page


def history(client, path) -> str:
    return client.get(f"{path}history/").content.decode()


def test_decisions_inspections_and_publications_are_in_the_records_history(world, client):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    session = on_air(world)
    alert = raise_alert(session)
    lead.post(
        f"{ADMIN}/alert/{alert.pk}/decide/",
        {"status": "dismissed", "note": "误报：说的是站内客服"},
    )
    assert "已排除: 误报：说的是站内客服" in history(lead, f"{ADMIN}/alert/{alert.pk}/")

    lead.post(f"{ADMIN}/livesession/{session.pk}/inspect/", {"result": "no_issue"})
    assert "添加了 巡查记录“" in history(lead, f"{ADMIN}/livesession/{session.pk}/")

    rule = alert.rule
    lead.post(f"{ADMIN}/monitoringrule/", {"action": "new_version", "_selected_action": [rule.pk]})
    draft = MonitoringRule.objects.get(code=rule.code, status="draft")
    lead.post(f"{ADMIN}/monitoringrule/", {"action": "publish", "_selected_action": [draft.pk]})
    assert "已发布" in history(lead, f"{ADMIN}/monitoringrule/{draft.pk}/")


def test_the_admin_s_own_strings_that_django_leaves_in_english_read_in_chinese(client):
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    refused = lead.post(f"{ADMIN}/monitoringrule/add/", {"code": ""})
    assert "<title>错误：" in refused.content.decode()
    index = lead.get("/admin/liverooms/").content.decode()
    assert "Model name" not in index and ">数据类型<" in index
