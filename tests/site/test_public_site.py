"""The public site: Chinese first, English on request, CSRF, security headers, health."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_landing_page_is_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "直播购物消费者服务中心" in html
    for entry in ("我要投诉", "举报直播间", "评价服务", "查询信用", "查看公示规则"):
        assert entry in html


def test_landing_page_in_english_after_the_language_switch():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Consumer service centre for live shopping" in html


def test_the_language_switch_needs_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 403


def test_security_headers_and_content_security_policy(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_an_unknown_page_is_a_friendly_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_redis_is_configured_but_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}


def test_an_english_browser_still_gets_chinese_until_the_switch_is_used(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html


def test_the_api_answers_in_the_language_the_integrator_asks_for(client):
    english = client.get("/api/v1/key/", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get("/api/v1/key/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.json()["detail"] != chinese.json()["detail"]
    assert english.json()["detail"].isascii()
