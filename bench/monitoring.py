"""Monitoring engine throughput: 2,000 active rules against 20,000 live-room segments, on ONE core.

    .venv/bin/python bench/monitoring.py [--rules 2000] [--segments 20000] [--repeat 3]

(or `make bench-monitoring`). No database and no Django: the engine is pure Python.

What it builds (deterministic, --seed):
  * rules: the shipped pack plus synthetic keyword rules up to --rules, each with 1-5 real
    Chinese words or idioms (from pypinyin's phrase dictionary), a fifth of them matching by
    pinyin, some with exclusion contexts, some for transcripts only or chat only;
  * segments: transcript lines and chat messages of 10-60 characters made from ordinary anchor
    speech, 6 % with a violation of the pack and 4 % with an evasion of one (noise between the
    characters, full-width letters, traditional characters, homophones, pinyin in Latin letters).

What it measures, in one process pinned to one core (os.sched_setaffinity), no threads:
  a. the engine: `CompiledRuleSet.evaluate` per segment -- normalisation, traditional to
     simplified, the pinyin view, one Aho-Corasick pass per view, the pattern rules, exclusions,
     de-duplication and alert drafts;
  b. the baseline in the same run: the same normalisation, then one compiled regular expression
     per rule (its keywords and aliases as an alternation) searched over the normalised text,
     i.e. a loop over 2,000 regexes per segment -- and no pinyin view, exclusions or drafts.

It prints compile times, segments/s and µs per segment for both (median of --repeat runs), the
speed-up, the pack's recall on the labelled violations and its alerts on the ordinary segments,
and PASS/FAIL against the target: engine >= 5,000 segments/s. Exit status 1 on FAIL.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liverooms.monitoring import CompiledRuleSet, Rule, Signal, normalize, rules  # noqa: E402

TARGET_SEGMENTS_PER_SECOND = 5_000
SEED = 20_260_201

# Ordinary anchor speech and chat, the bulk of every live room.
ORDINARY = [
    "大家好欢迎来到直播间", "新进来的宝宝点点关注", "今天给大家带来一款面膜", "这款适合干性皮肤",
    "油皮的宝宝也可以用", "链接已经上好了", "大家去三号链接拍", "拍的时候备注颜色",
    "库存只有两百件", "今天的福利款", "晚上八点还有一场", "七天无理由退换",
    "运费险已经送了", "有问题在评论区问我", "主播身高一米六五", "穿的是S码",
    "这件衣服很显瘦", "面料是新疆长绒棉", "摸起来很软很舒服", "这个颜色特别显白",
    "黄皮也能穿", "茶叶要用八十度的水冲泡", "开封以后冷藏保存", "这款锅是不粘锅",
    "少油少烟很好清洗", "孩子也可以用", "孕妇请在医生指导下使用", "好评的宝宝可以晒个图",
    "给其他人参考一下", "我们家的蜂蜜是自己养的蜂采的", "可以冲水喝也可以抹面包",
    "快递默认发中通", "偏远地区不发货", "想要同款的点小黄车", "今天第一次上架这款茶叶",
    "第一这款面膜很温和", "第二价格很实在", "最佳赏味期是开封后七天", "有问题联系平台客服",
    "下单请走平台不要私下转账", "这是国家级非物质文化遗产", "防晒霜要提前二十分钟涂",
    "谢谢宝宝的礼物", "欢迎新来的朋友", "主播给大家试穿一下", "这个尺码偏大一码",
    "建议拍小一号", "我们支持验货", "正品保障", "再给大家讲一下成分", "里面含有烟酰胺",
    "可以提亮肤色", "这个价格真的很划算", "拍一件送一件", "喜欢的宝宝加入粉丝团",
    "粉丝团有专属券", "倒计时五四三二一", "上车上车", "还有最后五十单", "马上下架了",
]  # fmt: skip

VIOLATIONS = [
    "这款面霜是国家级配方", "全网最低价错过再等一年", "史上最强的吸尘器", "顶级工艺独一无二",
    "销量第一的面膜", "效果最好的精华", "想要的加微信私聊", "私下转账给我便宜五十",
    "不走平台直接线下交易", "扫码付款再优惠", "加我QQ详细聊", "记一下我的微信号",
    "五星好评返现五元", "收到货好评返红包", "需要刷单的找我", "高仿包包和专柜一样",
    "原单尾货数量不多", "处方药也能直接拍", "这款电子烟口味很多", "烟弹买二送一",
    "糖尿病都能根治", "纯天然无副作用", "降血糖效果特别好", "吃了就能治愈失眠",
]  # fmt: skip

EVASIONS = [
    "加薇信下单更便宜", "加威信拿优惠", "加 V 信", "加 w x 私聊", "加 wei xin 下单",
    "加✨微✨信", "加 微 信", "加\u200b微\u200d信", "有需要的ＶＸ联系", "國家級配方",
    "全網銷量第一", "好 評 返 現", "電子煙批發", "私\ufe0f下\ufe0f转\ufe0f账", "ｎｏ．１的口碑",
]  # fmt: skip

SEVERITIES = ("low", "medium", "high", "critical")


# --- data --------------------------------------------------------------------------------------


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """Real Chinese words and idioms of 2-4 characters, for synthetic rule keywords."""
    from pypinyin.phrases_dict import phrases_dict

    words = sorted(
        word
        for word in phrases_dict
        if 2 <= len(word) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in word)
    )
    return rng.sample(words, size)


def synthetic_rules(count: int, rng: random.Random) -> list[Rule]:
    words = iter(vocabulary(rng, count * 5))
    made = []
    for n in range(count):
        keywords = [next(words) for _ in range(rng.randint(1, 5))]
        made.append(
            Rule(
                code=f"synthetic_{n:05d}",
                category=f"synthetic_{n % 17}",
                severity=rng.choice(SEVERITIES),
                kind="keyword",
                keywords=keywords,
                match_pinyin=rng.random() < 0.2,
                exclude=["不要*", "*有风险"] if rng.random() < 0.2 else [],
                signal_kinds=rng.choice(
                    [["transcript", "chat", "listing"], ["transcript"], ["chat"]]
                ),
                legal_basis="synthetic",
            )
        )
    return made


def segment(rng: random.Random, insert: str | None) -> str:
    """Whole ordinary clauses, 10-60 characters in all, with ``insert`` among them. Clauses are
    never cut: a phrase cut in half is a different phrase (``国家级非`` is no longer the
    excluded ``国家级非物质文化遗产``)."""
    target = rng.randint(10, 60)
    clauses = [insert] if insert else []
    length = len(insert) if insert else -1
    while length < target:
        clause = rng.choice(ORDINARY)
        if length + 1 + len(clause) > 60:
            if length >= 10:
                break
            continue
        clauses.insert(rng.randint(0, len(clauses)), clause)
        length += 1 + len(clause)
    return "，".join(clauses)


def corpus(count: int, rng: random.Random) -> tuple[list[Signal], list[str]]:
    """The segments, and a label for each: ordinary, violation or evasion."""
    start = datetime(2026, 2, 1, 20, 0, tzinfo=UTC)
    signals, labels = [], []
    for n in range(count):
        roll = rng.random()
        if roll < 0.06:
            label, insert = "violation", rng.choice(VIOLATIONS)
        elif roll < 0.10:
            label, insert = "evasion", rng.choice(EVASIONS)
        else:
            label, insert = "ordinary", None
        kind = "transcript" if rng.random() < 0.7 else "chat"
        at = start + timedelta(seconds=n)
        signals.append(Signal(kind=kind, at=at, text=segment(rng, insert)))
        labels.append(label)
    return signals, labels


# --- the two contenders ------------------------------------------------------------------------


def baseline_regexes(all_rules: list[Rule]) -> list[re.Pattern[str]]:
    """One regex per rule: its normalised keywords and aliases as an alternation."""
    regexes = []
    for rule in all_rules:
        terms = [normalize(t).text for t in (*rule.keywords, *rule.aliases)]
        if terms:
            regexes.append(re.compile("|".join(re.escape(t) for t in sorted(terms, key=len)[::-1])))
    return regexes


def run_engine(ruleset: CompiledRuleSet, signals: list[Signal]) -> int:
    found = 0
    for index, signal in enumerate(signals):
        found += len(ruleset.evaluate_signal(signal, index=index))
    return found


def run_baseline(regexes: list[re.Pattern[str]], signals: list[Signal]) -> int:
    found = 0
    for signal in signals:
        text = normalize(signal.text).text
        for regex in regexes:
            for _match in regex.finditer(text):
                found += 1
    return found


def timed(function: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Median wall time of ``repeat`` runs, and the result of the last."""
    times, result = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


# --- main --------------------------------------------------------------------------------------


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
        return "pinned to CPU 0"
    return "not pinned (no sched_setaffinity on this platform)"


def pack_quality(ruleset: CompiledRuleSet, signals: list[Signal], labels: list[str]) -> str:
    """Recall of the pack on the labelled segments and its alerts on the ordinary ones."""
    pack_codes = {rule.code for rule in rules()}
    caught = {"violation": 0, "evasion": 0}
    totals = {"violation": 0, "evasion": 0, "ordinary": 0}
    ordinary_alerted = 0
    for index, (signal, label) in enumerate(zip(signals, labels, strict=True)):
        totals[label] += 1
        hit = any(d.rule_code in pack_codes for d in ruleset.evaluate_signal(signal, index=index))
        if label == "ordinary":
            ordinary_alerted += hit
        else:
            caught[label] += hit
    return (
        f"pack recall: violations {caught['violation']}/{totals['violation']}, "
        f"evasions {caught['evasion']}/{totals['evasion']}; "
        f"pack alerts on ordinary segments: {ordinary_alerted}/{totals['ordinary']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--segments", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    print(f"Monitoring engine benchmark ({pin_to_one_core()}, single process, no threads)")
    rng = random.Random(args.seed)  # noqa: S311 - reproducible test data, not secrets
    pack = rules()
    text_pack = [rule for rule in pack if rule.kind != "session"]
    all_rules = [*pack, *synthetic_rules(args.rules - len(text_pack), rng)]
    signals, labels = corpus(args.segments, rng)
    average = statistics.mean(len(s.text) for s in signals)
    print(
        f"rules: {args.rules:,} active "
        f"({len(text_pack)} from the pack, {args.rules - len(text_pack):,} synthetic); "
        f"segments: {len(signals):,}, {average:.1f} characters on average"
    )

    # The first build in the process, and a rebuild as after a rule is published.
    began = time.perf_counter()
    ruleset = CompiledRuleSet(all_rules)
    compile_first = time.perf_counter() - began
    began = time.perf_counter()
    ruleset = CompiledRuleSet(all_rules)
    compile_again = time.perf_counter() - began
    stats = ruleset.stats()
    began = time.perf_counter()
    regexes = baseline_regexes(all_rules)
    compile_baseline = time.perf_counter() - began
    print(
        f"compile: engine {compile_first:.2f} s (rebuild {compile_again:.2f} s; "
        f"{stats.text_terms:,} text terms, "
        f"{stats.pinyin_terms:,} pinyin keys, automata {stats.automata}, "
        f"{stats.pattern_rules} pattern rules); baseline {len(regexes):,} regexes "
        f"{compile_baseline:.2f} s"
    )

    run_engine(ruleset, signals[:500])  # warm the per-character caches, as a running worker has
    engine_time, engine_alerts = timed(lambda: run_engine(ruleset, signals), args.repeat)
    baseline_time, baseline_hits = timed(lambda: run_baseline(regexes, signals), args.repeat)

    n = len(signals)
    engine_rate, baseline_rate = n / engine_time, n / baseline_time
    verdict = "PASS" if engine_rate >= TARGET_SEGMENTS_PER_SECOND else "FAIL"
    print()
    print(f"{'':32} {'segments/s':>12} {'µs/segment':>11} {'speed-up':>9} {'found':>8}")
    print(
        f"{'engine (Aho-Corasick, 2 views)':32} {engine_rate:>12,.0f} "
        f"{engine_time / n * 1e6:>11.1f} {baseline_time / engine_time:>8.1f}x "
        f"{engine_alerts:>8,}"
    )
    print(
        f"{f'baseline ({len(regexes):,} regexes/segment)':32} {baseline_rate:>12,.0f} "
        f"{baseline_time / n * 1e6:>11.1f} {1:>8.1f}x {baseline_hits:>8,}"
    )
    print(f"(median of {args.repeat} runs; found = alert drafts for the engine, raw regex")
    print(" matches for the baseline, which has no pinyin view, exclusions or de-duplication)")
    print()
    print(pack_quality(ruleset, signals, labels))
    print(
        f"target: engine >= {TARGET_SEGMENTS_PER_SECOND:,} segments/s on one core: "
        f"{engine_rate:,.0f} {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
