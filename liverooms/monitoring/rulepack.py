"""The shipped rule pack: RULES.md §3's prohibited claims and anchor behaviours as plain data.

Each entry has exactly the fields of ``liverooms.models.MonitoringRule`` (``Rule.from_mapping``
reads it), so a data migration can load the pack as rows. A rule changed in the admin is a new
version made there. A change shipped with the code is an edit here that raises the entry's
``version`` and ``RULEPACK_VERSION`` (which names this file's content as a whole), plus a new
data migration that publishes the new versions (``0007_rulepack_2`` for pack 2,
``0010_rulepack_3`` for pack 3, ``0016_rulepack_4`` for pack 4, each through ``publishing``):
migration ``0003`` loads whatever this file holds into an empty database, the later ones bring
existing databases up to it. A rule whose published
version did not come from the pack -- changed in the admin or withdrawn there -- is left as it
is.

Pack 2 (what changed from pack 1, and why)
------------------------------------------
* ``lcm37_ai_presenter_unlabelled`` v2: keywords. A presenter declaring itself AI, digital or
  virtual (``我是AI主播``, ``数字人主播``, ``虚拟主播``, ``由AI合成``) in a session not labelled
  AI-generated raises the rule (LCM Art. 37); v1 had no terms and so never fired from text.
  Human anchors who say ``我不是AI主播`` and viewers who ask ``是AI主播吗`` are excluded.
* ``offline_transaction_lure`` v2: a pattern for paying by a code shown in the room in its
  word orders (``扫我二维码付款``, ``扫这个码付款``, ``直接扫码给我转``); scanning to follow
  the room (``扫码关注``) pays nobody and does not match.
* ``offline_contact_details`` v2: a mobile number in Chinese numerals (``一三八…``, ``幺`` for 1),
  eleven digits exactly like the Arabic one, so a price of ``一三八元`` is not a number.
* ``tobacco_promotion`` v2: whole pinyin spellings as aliases (``dianziyan``, ``yueke``); a
  scent or a colour (``香烟味的香水``, ``雪茄色的皮包``) and a refusal after the word
  (``电子烟我们不卖``) do not alert.
* ``adl17_medical_claims`` and ``lcm33_prohibited_goods`` v2: a refusal after the word
  (``消炎的药我们不卖``, ``处方药我们不卖``) does not alert.
* Not added: a rule on sales figures. ``已经卖出十万单了`` is a violation only when it is false
  (LCM Art. 34), which a keyword cannot know; alerting on every sales claim would bury the
  reviewers. Faked sales are caught where they are bought (``刷单``, ``刷销量``).

Pack 3 (what changed from pack 2, and why)
------------------------------------------
A review ran ordinary live-commerce speech through the pack and found false alarms, and
violations RULES.md §3 names that raised nothing.

* ``offline_transaction_lure`` v3: ``加微信`` no longer matches inside a word that ends in 加
  and adds no one (``增加微信支付``, ``参加微信抽奖``, ``更加微信友好``, ``叠加``, ``附加``,
  ``追加``), punctuation or not (``欢迎大家参加，微信支付宝都能付``); ``添加微信`` and ``再加
  微信`` still alert. Adding a WeChat *mini program* (``加微信小程序``) is a shop on a platform,
  not a lure. The English name in the lures' words (``加我wechat``, ``wechat号``) is an alias;
  ``wechat`` alone is not (``支持WeChat Pay``). ``客服微信号`` on the shop's page still alerts
  (see the keyword's comment).
* ``offline_contact_details`` v3: a handle after ``wechat`` (``加我WeChat：abc123``).
* ``NEGATIONS`` gains ``不是*`` (``我们不是高仿，都是正品``); every rule that takes the list
  has a new version, except ``lcm37_ai_presenter_unlabelled``, which had it already.
* ``lcm33_prohibited_goods`` v3: ``我叫小A，货都发了`` is not ``A货`` -- the engine now reads a
  clause mark where a Latin letter meets a Han character, glued on both sides to the words
  around it, as two clauses (``engine._joins_two_clauses``). Between two Han characters a comma
  is still noise: ``加，微，信`` and ``宝宝们加，微信`` are lures, and nothing but a dictionary
  would tell ``们加，微信`` from ``参加，微信``, so the lure rule's exclusions do that.
* ``adl9_absolute_terms`` v2: a state designation (``国家级高新技术企业``, ``国家级专精特新``,
  like ``国家级非遗``), an award to a person or a work (``最佳球员``, ``最佳新人``) and a
  membership tier (``最高级别的会员``, ``顶级会员``) are not claims about the goods;
  ``最高级别的品质`` still alerts.
* ``tobacco_promotion`` v3: quitting said after the word (``以前抽香烟，现在戒了``) and a
  nebuliser said to be for home or medical use (``这个雾化器是家用的``).
* ``adl17_medical_claims`` v3: a question (``这是消炎药吗？``, ``没有副作用吗？``) is not a
  claim. The price: a rhetorical ``能根治吗？能！`` does not alert either; the anchor's plain
  ``能根治`` does.
* ``fake_traffic`` v1, new: faked follows, likes and views (``刷粉丝``, ``买粉丝涨关注``,
  ``刷关注``) and fake purchase-and-return for commission (``先拍后退``, ``拍了退款，我给你返
  佣金``), RULES.md §3's anchor behaviours. Not by sound, and not ``买粉丝`` alone: glass
  noodles are 粉丝 too, and ``卖粉丝`` reads like ``买粉丝``.

Pack 4 (what changed from pack 3, and why)
------------------------------------------
Every rule has a new version whose terms, patterns and exclusions are pack 3's: only its
``description`` and ``legal_basis`` changed. They were English, and the legal bases RULES.md's
abbreviations (``AdL Art. 9(3)``, ``2021 Measures Art. 18``). The reviewers who read a rule's
page, and the platform that receives ``legal_basis`` with every alert, read Chinese, and the
violation catalogue (``enforcement`` migration ``0002``) already cites the same laws by their
Chinese titles and articles (``《广告法》第九条第三项``). A rule's legal basis now reads as the
violation's does when an alert is confirmed and handed over.

The engine, not the pack, now reads pinyin with tone marks (``加wēi xìn``) and keywords written
partly in pinyin (``zui佳``, ``guo家级``, ``电子yan``) for every rule (``engine`` docstring).

Decisions a reviewer may question, and why
------------------------------------------
* **Ranking claims, not the bare word 第一.** Anchors number their points (``第一，…；第二，…``)
  and say ``第一次``, ``第一个拍下的``, ``一号链接`` all day. The rule lists the claims the
  enforcement cases are about (``销量第一``, ``全网第一``, ``第一品牌``, ``no1``) instead of
  ``第一`` with an endless list of exceptions.
* **最好 likewise.** ``最好`` is mostly the adverb "had better" (``最好先试一试``); the rule
  lists the adjectival claims (``效果最好``, ``质量最好``, ``最好用的``).
* **Consumer tips and honours are not claims.** SAMR's enforcement guide on absolute terms
  (《广告绝对化用语执法指南》, 2023) places outside AdL Art. 9(3) a "best method / best time /
  best shelf life" consumer tip, product names and registered marks that contain such a word,
  and truthful background information. So ``最佳食用时间``, ``质量最好的办法``, ``万能胶`` and
  a designation the state confers -- ``国家级非物质文化遗产`` -- do not alert. Whether the
  designation is TRUE is for the qualification audit (RULES.md §2) and, when false, LCM Art. 34
  (false honours) on review; a keyword cannot know.
* **Warnings are not lures.** ``下单请走平台，不要私下转账`` names the violation in order to
  warn against it. Rules about behaviour carry ``NEGATIONS`` (``不要*``, ``请勿*`` via ``勿*``,
  ``谨防*`` ...): the negation must stand immediately before the term after normalisation, so
  ``不要犹豫，加微信`` still alerts (犹豫 stands between). Absolute-term rules do not take them:
  ``不是最佳`` is rare and ``特别顶级`` would be silenced by ``别*``.
* **Homophones only where evasion is the norm and the words are long.** Offline-transaction and
  fake-review rules match by pinyin; goods, tobacco and medical rules do not, because ``高仿``
  (gaofang) would hit ``高防晒``, ``电子烟`` (dianziyan) ``电子眼``, ``雪茄`` (xuejia) the
  sales word ``削价`` and ``悦刻`` (yueke) ``约课``. Their words written partly in pinyin
  (``电子yan``) match anyway (the engine does that for every rule); spelled wholly in Latin
  letters they are aliases, chosen one by one: ``dianziyan`` is no one's name, but ``xiaoyan``
  (消炎) is, so it is not an alias.
* **Selling e-cigarettes or cigarettes is the signal**, in any kind of text, except when it is
  warned against, quit, refused, a medical nebuliser (``医用雾化器``), or a scent or colour
  named after it (``香烟味的香水``, ``雪茄色``).
* **A refusal may come after the word.** ``消炎的药我们不卖`` refuses as plainly as
  ``不卖消炎药``; ``_REFUSED_AFTER`` lists the refusals that follow a goods or claim word, with
  the few words that may stand between (``的药``).
* **The AI presenter is told by self-description**, never by the bare ``AI`` or ``数字人``: an
  anchor sells ``AI学习机`` and ``AI翻译笔``, and ``数字人民币`` is money. In a session labelled
  AI-generated the rule raises nothing (the engine's ``ai_labelled``); in one that is not, the
  first declaration raises one alert, and the service raises no other while it is open.
"""

from __future__ import annotations

from typing import Any

from liverooms.monitoring.engine import Rule

__all__ = [
    "NEGATIONS",
    "RULEPACK",
    "RULEPACK_VERSION",
    "rules",
]

RULEPACK_VERSION = 4

# Immediately before a term, these make it a warning or a refusal rather than an invitation.
# fmt: off
_NEGATIONS_PACK_2 = [
    "不要*", "不能*", "不可*", "不会*", "不得*", "不用*", "不需要*", "无需*", "不支持*",
    "不接受*", "不提供*", "不搞*", "不做*", "不卖*", "不售*", "不销售*", "从不*", "绝不*",
    "绝对不*", "别*", "勿*", "禁止*", "严禁*", "谨防*", "警惕*", "防范*", "小心*", "拒绝*",
    "杜绝*", "防止*", "避免*", "以免*", "举报*", "遇到*", "凡是*", "任何*", "没有*", "并非*",
]
# Pack 3: 不是 (我们不是高仿). The AI presenter rule had it already, in its own list, and keeps
# pack 2's list with it: the same behaviour, so no new version of that rule.
NEGATIONS = [*_NEGATIONS_PACK_2, "不是*"]

# After a term: the sentence is about the risk, not the offer.
_RISK_AFTER = [
    "*有风险", "*风险", "*是骗", "*都是骗", "*的都是骗", "*骗局", "*诈骗", "*被骗", "*受骗",
    "*不受", "*不安全", "*违法", "*是违法", "*违规", "*是违规",
]

# Immediately after a goods or claim word, these refuse it: "消炎的药我们不卖". Each refusal is
# also listed behind the few words that stand between the hit and it (消炎 | 的药 | 我们不卖).
_REFUSALS = [
    "不卖", "我们不卖", "我们这里不卖", "我们直播间不卖", "直播间不卖", "这里不卖", "是不卖的",
    "不能卖", "是不能卖的", "我们不能卖", "不售", "我们不售", "禁售", "禁止销售", "不上架",
]
_BETWEEN = ["", "的", "药", "的药", "类药", "的产品"]
_REFUSED_AFTER = [f"*{between}{refusal}" for between in _BETWEEN for refusal in _REFUSALS]

# A question about a claim, a viewer's or the anchor's own before the answer: "这是消炎药吗？",
# "没有副作用吗？". Not a claim made.
_ASKED_AFTER = [f"*{between}{mark}" for between in _BETWEEN for mark in ("吗", "么", "嘛")]

# Quit since: "我爸以前抽香烟，现在戒了", "电子烟我早就戒了".
_QUIT_AFTER = [
    f"*{who}{when}戒了"
    for who in ("", "我", "他", "她")
    for when in ("", "都", "早", "早就", "已经", "现在", "后来")
]

# Words that end in 加 without adding anyone (增加微信支付, 参加，微信抽奖, 更加微信友好, 优惠
# 叠加，微信支付立减), before the contact the lure keywords add. Phrases, not "参*": a 更 or a
# 增 before 微信号 (变更微信号) is no such word. 添加 and 再加 are not here: they add a contact.
_NOT_ADDING = [
    f"{word}{contact}"
    for word in ("参加", "增加", "更加", "叠加", "附加", "追加")
    for contact in ("微信", "qq", "v", "wechat")
]
# fmt: on

_ALL = ["transcript", "chat", "listing"]
_SPOKEN = ["transcript", "chat"]

# The pack is a table: one term list per rule, laid out by hand for review, not by the formatter.
# fmt: off
RULEPACK: list[dict[str, Any]] = [
    {
        "code": "adl9_absolute_terms",
        "version": 3,
        "category": "absolute_terms",
        "severity": "medium",
        "kind": "keyword",
        "keywords": [
            "国家级", "世界级", "最高级", "最佳", "顶级", "顶尖", "极品", "独一无二",
            "绝无仅有", "史无前例", "前无古人", "万能", "史上最", "全网最低", "全网最便宜",
            "最低价", "全网最好", "效果最好", "质量最好", "最好用的", "最好的产品", "最先进",
            "100%有效", "百分百有效", "百分之百有效", "销量第一", "全网第一", "全国第一",
            "全球第一", "世界第一", "行业第一", "排名第一", "天下第一", "同类第一",
            "销量第1", "全网第1", "全国第1", "排名第1", "行业第1", "第一品牌", "销量冠军",
            "全网唯一", "全国唯一", "领袖品牌", "no1", "top1",
        ],
        "aliases": [],
        "match_pinyin": False,
        "pattern": "",
        "exclude": [
            # Designations conferred under state rules, stated as background (see docstring).
            "国家级非物质文化遗产", "国家级非遗", "世界级非物质文化遗产", "世界级非遗",
            "国家级自然保护区", "国家级风景名胜区", "国家级裁判", "国家级运动员",
            "国家级高新技术企业", "国家级高新企业", "国家级专精特新",
            # Awards conferred on people and works, not claims about the goods.
            "最佳球员", "最佳新人", "最佳男主角", "最佳女主角", "最佳男演员", "最佳女演员",
            "最佳导演", "最佳影片", "最佳射手", "最佳阵容", "最佳教练",
            # A membership tier of the shop's own programme: 最高级别的会员, 顶级会员.
            "*会员", "*别会员", "*别的会员",
            # Consumer tips: best time, method, storage (SAMR guide).
            "*时间", "*时期", "*赏味", "*食用", "*饮用", "*使用", "*保存", "*储存", "*温度",
            "*方法", "*办法", "*方式", "*季节", "*的时间", "*的方法", "*的办法", "*的方式",
            # Product names that contain the word.
            "万能胶", "万能表", "万能充", "万能插座", "万能插头", "万能转换", "万能钥匙",
            "万能扳手", "万能遥控",
            # "Sales first time over ..." is a date, not a rank.
            "*次",
        ],
        "signal_kinds": _ALL,
        "legal_basis": "《广告法》第九条第三项",
        "description": "口播、评论或商品标题中使用“国家级”“最高级”“最佳”等绝对化用语。",
    },
    {
        "code": "offline_transaction_lure",
        "version": 4,
        "category": "offline_transaction",
        "severity": "high",
        "kind": "keyword",
        "keywords": [
            "加微信", "加我微信", "加个微信", "加下微信", "加一下微信", "加主播微信",
            # 微信号 even as the shop's "customer service": the platform's own service is its
            # in-app chat, so a WeChat id for service, on the shop's page or anywhere else,
            # moves the buyer to a channel where the order, the payment and the chat escape
            # the platform's records and protection -- where the private-transfer offer
            # follows. A reviewer sees the sentence; the rule does not guess at a use.
            "微信私聊", "微信联系", "微信下单", "微信转账", "微信号", "加qq", "加我qq", "qq号",
            "qq联系", "qq群", "私聊下单", "私信下单", "私下转账", "私下交易", "私下付款",
            "私下联系", "线下交易", "线下付款", "线下转账", "不走平台", "绕过平台", "绕开平台",
            "平台外交易", "见面交易", "扫码付款", "扫码转账", "扫码支付", "微信扫码付",
            "支付宝扫码付", "转账给我", "转我微信", "转我支付宝", "支付宝转账", "转账到支付宝",
            "银行卡转账",
        ],
        # Spellings pinyin cannot derive: abbreviations, slang (绿泡泡 is WeChat's green
        # bubble, 企鹅 QQ's penguin, v我 "pay me on WeChat"), lookalike characters, and the
        # English name in the lures' own words (not "wechat" alone: 支持WeChat Pay).
        "aliases": [
            "vx", "wx", "v信", "加v", "加我v", "加个v", "私v", "v我", "薇x", "威x", "徽信",
            "绿泡泡", "加卫星", "扣扣号", "加扣扣", "加企鹅",
            "加wechat", "加我wechat", "加个wechat", "加主播wechat", "wechat号", "wechatid",
            "wechat私聊", "wechat联系", "wechat下单", "wechat转账", "转我wechat",
        ],
        "match_pinyin": True,
        # Paying by scanning a code in the room, in the word orders anchors use: 扫 (一下) (我的 /
        # 这个 / 下面的 ...) (二维码 / 收款码 / 码) (给我 / 直接) 付款 / 支付 / 转账 / 转 ...
        # A pay word must follow the code at once: 扫码关注 (follow the room) pays nobody, and
        # a bare 转 only after 给我 or 直接 (扫码转盘抽奖 spins a lucky wheel, 扫码转到首页
        # opens a page).
        "pattern": r"扫(?:一扫|一下)?(?:我|我的|我这个|这个|这张|这|下面的?|下方的?|上面的?"
        r"|屏幕上?的?|图片?上?的?)?(?:二维码|收款码|付款码|支付码|码)(?:给我|直接)?"
        r"(?:付款|支付|转账|付钱|转钱|打钱|打款|转给我|付给我|转我|(?<=给我)转(?!发)"
        r"|(?<=直接)转(?!发))",
        # A WeChat mini program is a shop on a platform with its own payment records, not a
        # private chat or transfer.
        "exclude": [*NEGATIONS, *_RISK_AFTER, *_NOT_ADDING, "*小程序"],
        "signal_kinds": _ALL,
        "legal_basis": "《网络直播营销管理办法（试行）》第十八条；"
        "浙江省《直播电子商务管理规范》（2020）；"
        "《网络主播行为规范》（2022）",
        "description": "引导用户绕开平台交易：私下聊天渠道、私下转账、扫个人收款码付款。",
    },
    {
        "code": "offline_contact_details",
        "version": 4,
        "category": "offline_transaction",
        "severity": "high",
        "kind": "pattern",
        "keywords": [],
        "aliases": [],
        "match_pinyin": False,
        # Over the normalised text, so "138 1234 5678" and "vx：abc_123" are already joined:
        # a mainland mobile number, in Arabic or Chinese numerals (幺 and 洞 as read out for 1
        # and 0) or a mix, eleven digits exactly -- 一三八元 is a price -- or an account handle
        # right after a channel name.
        "pattern": r"(?<!\d)1[3-9]\d{9}(?!\d)"
        r"|(?<![\d零〇洞一幺二三四五六七八九])[1一幺][3-9三四五六七八九]"
        r"[\d零〇洞一幺二三四五六七八九]{9}(?![\d零〇洞一幺二三四五六七八九])"
        r"|(?:微信|薇信|威信|vx|wx|v信|weixin|wechat)号?(?:是|为)?[a-z][a-z0-9]{5,19}"
        r"|(?:qq|扣扣)号?(?:是|为)?[1-9]\d{4,10}(?!\d)",
        "exclude": [*NEGATIONS],
        "signal_kinds": _SPOKEN,
        "legal_basis": "《网络直播营销管理办法（试行）》第十八条；"
        "浙江省《直播电子商务管理规范》（2020）",
        "description": "在直播间公开个人手机号码或聊天账号。",
    },
    {
        "code": "lcm34_fake_reviews",
        "version": 3,
        "category": "fake_reviews",
        "severity": "high",
        "kind": "keyword",
        "keywords": [
            "好评返现", "好评返", "五星好评返", "五星好评送", "好评送红包", "晒图返现",
            "买家秀返现", "晒单返现", "追评返现", "返现好评", "刷好评", "刷评价", "刷单", "刷销量",
            "刷数据", "删差评返",
        ],
        "aliases": [],
        "match_pinyin": True,
        "pattern": "",
        "exclude": [*NEGATIONS, *_RISK_AFTER],
        "signal_kinds": _ALL,
        "legal_basis": "《直播电商监督管理办法》第三十四条",
        "description": "购买评价或虚构销量：好评返现、刷单。",
    },
    {
        "code": "fake_traffic",
        "version": 2,
        "category": "fake_traffic",
        "severity": "high",
        "kind": "keyword",
        # Faked follows, likes and views, bought or brushed; and orders placed to be refunded,
        # the buyer paid a commission for them (先拍后退): faked sales the anchor is paid a
        # commission on. 买粉 only before what it buys into: 粉丝 are also glass noodles
        # (买粉丝送酱料包, 买粉丝涨价了), and 刷粉 is powder on a brush (刷粉底). Not 刷人气,
        # 刷热度 nor 刷榜: viewers say them of their own chat and gifts (帮主播刷刷人气, 感谢
        # 大哥刷榜); nor 买流量 or 涨粉套餐, which the platform's own paid promotion sells.
        "keywords": [
            "刷粉丝", "刷关注", "刷点赞", "刷流量", "刷播放量", "刷浏览量", "刷观看量",
            "刷在线人数", "买关注", "买点赞", "买人气", "买播放量", "买浏览量", "买僵尸粉",
            "买真人粉", "买活粉", "买粉丝涨关注", "买粉丝涨粉", "买粉丝涨人气", "买粉涨粉",
            "买粉涨关注", "买粉丝上热门", "买粉丝服务", "买粉服务",
            # The buyer paid to order and refund; not 退款返佣, which is how a refund claws
            # back the anchor's own commission.
            "先拍后退", "先拍再退", "拍了退款返", "给你返佣", "返你佣金", "返佣金给你",
        ],
        "aliases": [],
        # Not by sound: 买粉丝 reads like 卖粉丝, which every glass-noodle seller says, and 刷
        # like 耍 (别耍粉丝了). Written partly in pinyin (shua粉丝) they match anyway.
        "match_pinyin": False,
        "pattern": "",
        "exclude": [*NEGATIONS, *_RISK_AFTER],
        "signal_kinds": _ALL,
        "legal_basis": "《网络直播营销管理办法（试行）》第十八条；"
        "《网络主播行为规范》（2022）；"
        "中国广告协会《网络直播营销行为规范》（2020）",
        "description": "虚构关注、点赞、观看量或流量，以及“先拍后退”返佣金的虚假交易。",
    },
    {
        "code": "lcm33_prohibited_goods",
        "version": 4,
        "category": "prohibited_goods",
        "severity": "critical",
        "kind": "keyword",
        "keywords": [
            "仿品", "高仿", "a货", "超a货", "精仿", "原单尾货", "原单货", "处方药",
            "野生动物制品", "象牙制品", "象牙雕", "犀牛角", "犀角", "穿山甲", "熊胆粉", "虎骨",
            "管制刀具", "弹簧刀", "甩棍", "仿真枪", "气枪", "迷药", "窃听器", "针孔摄像头",
        ],
        "aliases": [],
        "match_pinyin": False,
        "pattern": "",
        "exclude": [
            *NEGATIONS, *_RISK_AFTER, *_REFUSED_AFTER, "识别*", "鉴别*", "辨别*", "区分*",
        ],
        "signal_kinds": _ALL,
        "legal_basis": "《直播电商监督管理办法》第三十三条",
        "description": "在直播间推销假冒、禁售或限售商品。",
    },
    {
        "code": "tobacco_promotion",
        "version": 4,
        "category": "tobacco",
        "severity": "high",
        "kind": "keyword",
        "keywords": [
            "香烟", "卷烟", "条烟", "烟草制品", "电子烟", "一次性电子烟", "烟弹", "烟油",
            "雾化烟", "雾化弹", "雾化器", "电子雾化器", "烟杆", "雪茄",
            # E-cigarette brands that anchors name instead of the product.
            "悦刻", "relx", "雪加",
        ],
        # Spelled wholly in pinyin. Written partly in pinyin (电子yan) the keywords match anyway.
        # Not xiangyan, yandan nor xuejia: given names too (湘燕, 燕丹, 薛佳).
        "aliases": ["dianziyan", "yueke"],
        "match_pinyin": False,
        "pattern": "",
        "exclude": [
            *NEGATIONS, *_RISK_AFTER, *_REFUSED_AFTER, "戒*", "戒掉*",
            *_QUIT_AFTER,
            # A nebuliser for the family, as medical devices are sold: 这个雾化器是家用的.
            "医用雾化器", "医疗雾化器", "儿童雾化器", "家用雾化器", "雾化器面罩", "*家用",
            "*是家用", "*医用", "*是医用",
            # A scent or a colour named after it: 香烟味的香水, 雪茄色的皮包.
            "*味的", "*味香水", "*味香氛", "*调香水", "*色的", "*色系", "*棕",
        ],
        "signal_kinds": _ALL,
        "legal_basis": "《广告法》第二十二条；"
        "《网络直播营销管理办法（试行）》第十八条；"
        "《网络主播行为规范》（2022）",
        "description": "推销或售卖卷烟、电子烟及烟弹。",
    },
    {
        "code": "adl17_medical_claims",
        "version": 4,
        "category": "medical_claims",
        "severity": "high",
        "kind": "keyword",
        "keywords": [
            "治愈", "根治", "药到病除", "包治百病", "包治", "彻底治好", "能治好", "无副作用",
            "零副作用", "没有副作用", "抗癌", "防癌", "降血糖", "降血压", "降血脂", "降三高",
            "替代药物", "代替药物", "疗效", "消炎",
        ],
        "aliases": [],
        "match_pinyin": False,
        "pattern": "",
        "exclude": [
            *NEGATIONS, *_REFUSED_AFTER, *_ASKED_AFTER, "不能保证*", "无法保证*", "不保证*",
            "不具有*", "不具备*", "不可以*",
        ],
        "signal_kinds": _ALL,
        "legal_basis": "《广告法》第十七条",
        "description": "对药品、医疗器械以外的商品宣称治疗疾病或医疗功效。",
    },
    {
        "code": "lcm32_reference_price",
        "version": 2,
        "category": "pricing",
        "severity": "medium",
        "kind": "price",
        # Discount cues in a product title; the check is on the listing's prices.
        "keywords": [
            "原价", "划线价", "折扣", "打折", "折后", "折起", "秒杀", "直降", "立减",
            "限时特价", "特价", "清仓价", "跳楼价", "亏本价", "骨折价", "优惠价", "活动价",
            "降价", "半价",
        ],
        "aliases": [],
        "match_pinyin": False,
        "pattern": r"\d+折|[一二三四五六七八九两]折",
        # 三折伞 is a folding umbrella, not 30 % of the price.
        "exclude": ["*伞", "*雨伞", "*晴雨伞", "*遮阳伞", "*太阳伞", "*叠", "*折叠"],
        "signal_kinds": ["listing"],
        "legal_basis": "《直播电商监督管理办法》第三十二条",
        "description": "宣称折扣却未标示参考价，或参考价不高于售价。",
    },
    {
        "code": "lcm37_ai_presenter_unlabelled",
        "version": 3,
        "category": "ai_presenter",
        "severity": "high",
        # Raised from speech and chat only in a session NOT labelled AI-generated (engine).
        "kind": "session",
        # How a generated presenter describes itself; never the bare "AI" (AI学习机 is goods).
        # Not 我是AI (我是AI工程师) nor 我是人工智能 (…专业的).
        "keywords": [
            "ai主播", "ai数字人", "ai虚拟人", "ai合成", "ai生成的主播", "ai智能主播",
            "数字人主播", "数字人直播", "我是数字人", "虚拟数字人", "虚拟主播", "虚拟人主播",
            "我是虚拟人", "人工智能主播", "机器人主播",
        ],
        "aliases": [],
        # By sound "ai主播" would be "爱主播" (do you love the anchor?); partly in pinyin
        # (shu字人主播) the keywords match anyway.
        "match_pinyin": False,
        "pattern": "",
        "exclude": [
            # A human anchor saying what they are not, talk about such presenters, a viewer
            # asking or guessing. Pack 2's NEGATIONS: 不是* is here already (see NEGATIONS).
            *_NEGATIONS_PACK_2, *_RISK_AFTER, "不是*", "并不是*", "不是一个*", "是不是*",
            "*吗", "*么", "*吧", "像*", "不像*", "那种*", "那些*", "*太多", "*越来越多",
            # 我是数字人民币推广大使: the digital yuan.
            "*民币",
            # Goods: software and courses for making such presenters, photo apps.
            "*软件", "*系统", "*工具", "*课程", "*教程", "*技术", "*平台", "*照片", "*图片",
            "*头像",
        ],
        "signal_kinds": _SPOKEN,
        "legal_basis": "《直播电商监督管理办法》第三十七条",
        "description": "AI 生成的主播出镜而未持续标识："
        "本场未标识为 AI 生成，主播却自称 AI、数字人或虚拟人。",
    },
]
# fmt: on


def rules() -> list[Rule]:
    """The pack as validated ``Rule`` objects."""
    return [Rule.from_mapping(entry) for entry in RULEPACK]
