"""Demo credit data: the sanctions list -- a regulator's decision barring one person from endorsing
for 3 years (AdL Art. 38 ¶3), and her anchor application, which the entry checks stop -- and a
second version of the credit rules, published now and taking effect in 14 days (ECL Art. 34 asks
for at least 7), so that the public rules page shows a scheduled change."""

from datetime import date

from accounts import registration
from accounts.demo import ACTOR, make_resident_id
from accounts.models import FileStatus, Party, PartyKind, RegistrationFile
from anchors.services import anchor_file_create
from credit.models import SanctionEntry
from credit.services import sanctions_import_csv

BARRED = make_resident_id("440106", date(1993, 9, 9), 41, female=True)


def seed(*, context: dict, out) -> None:
    if not SanctionEntry.objects.exists():
        csv = (
            "kind,name,identifier,authority,reference,decided_on,ends_on\n"
            f"false_ad_endorsement,何某某,{BARRED},广州市天河区市场监督管理局,"
            "穗天市监处〔2025〕118号,2025-03-18,\n"
        )
        report = sanctions_import_csv(content=csv.encode(), actor=ACTOR)
        if report.errors:
            raise RuntimeError(report.errors)
    if not Party.objects.filter(kind=PartyKind.ANCHOR, platform_ref="a-0201").exists():
        file = anchor_file_create(
            name="何某某",
            id_number=BARRED,
            address="广州市天河区",
            contact_phone="13600006666",
            platform_ref="a-0201",
            actor=ACTOR,
        )
        registration.file_submit(file=file, actor=ACTOR)  # refused: false_ad_endorsement
    _scheduled_rules(out)
    counts = {s: RegistrationFile.objects.filter(status=s).count() for s in FileStatus.values}
    out.write(f"Registry: {Party.objects.count()} parties; files by status: {counts}.")


def _scheduled_rules(out) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.actors import Actor
    from accounts.models import User
    from credit.models import RuleSet
    from credit.rules import DEFAULT_RULES
    from credit.rulesets import ruleset_draft, ruleset_publish

    if RuleSet.objects.filter(version__gte=2).exists():
        return
    lead = Actor.for_user(User.objects.get(username="lead"))
    rules = {
        **DEFAULT_RULES,
        "live_grades": {**DEFAULT_RULES["live_grades"], "food": "B", "cosmetics": "C"},
    }
    draft = ruleset_draft(
        title="直播主体信用评价规则（第二版）",
        rules=rules,
        summary="食品类直播所需信用等级由 C 调整为 B；化妆品类直播须达到 C 级。",
        actor=lead,
    )
    start = timezone.now() + timedelta(days=14)
    ruleset_publish(rule_set=draft, effective_from=start, actor=lead)
    out.write(f"Credit rules v2 published, in force from {timezone.localtime(start):%Y-%m-%d}.")
