"""Curated attribute pools the persona generator draws from (names, jobs, values, voices).

Every localised entry is a mapping ``{"en": ..., "ja": ..., "zh": ...}``. Style-example clauses
are written without sentence-final punctuation (the generator adds it in the persona's habit). The
style numbers (lengths, punctuation, line breaks, emoji, questions back) are calibrated to the real
YNTP-100 participants: see ``STYLE_CALIBRATION``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Localized = dict[str, str]


@dataclass(frozen=True)
class Tagged:
    """A localised label with MBTI letters it leans towards (used to weight the draw)."""

    text: Localized
    tags: str = ""


@dataclass(frozen=True)
class Occupation:
    text: Localized
    min_age: int
    max_age: int


NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "female": (
            "Maya",
            "Olivia",
            "Priya",
            "Hannah",
            "Chloe",
            "Grace",
            "Zoe",
            "Amara",
            "Lucy",
            "Sofia",
            "Naomi",
            "Freya",
            "Isla",
            "Jasmine",
            "Ruth",
            "Leah",
            "Tessa",
            "Nadia",
            "Ivy",
            "Clara",
        ),
        "male": (
            "Liam",
            "Ethan",
            "Noah",
            "Omar",
            "Jack",
            "Daniel",
            "Theo",
            "Marcus",
            "Ravi",
            "Caleb",
            "Owen",
            "Felix",
            "Samuel",
            "Diego",
            "Henry",
            "Isaac",
            "Jonah",
            "Leo",
            "Miles",
            "Adrian",
        ),
        "surnames": (
            "Carter",
            "Nguyen",
            "Patel",
            "Brooks",
            "Walsh",
            "Okafor",
            "Reyes",
            "Murphy",
            "Fischer",
            "Hughes",
            "Kim",
            "Bennett",
            "Lopez",
            "Harper",
            "Singh",
            "Turner",
            "Evans",
            "Novak",
            "Foster",
            "Delgado",
            "Price",
            "Sullivan",
        ),
    },
    "ja": {
        "female": (
            "美咲",
            "陽菜",
            "さくら",
            "結衣",
            "真由",
            "千尋",
            "葵",
            "彩花",
            "由紀",
            "奈々",
            "恵",
            "遥",
            "朋美",
            "楓",
            "玲奈",
            "早紀",
            "絵里",
            "詩織",
            "舞",
            "紗希",
        ),
        "male": (
            "翔太",
            "大輝",
            "健太",
            "拓海",
            "蓮",
            "悠真",
            "直樹",
            "和也",
            "亮",
            "誠",
            "颯太",
            "陽介",
            "隼人",
            "慎吾",
            "航",
            "修",
            "智也",
            "淳",
            "海斗",
            "圭介",
        ),
        "surnames": (
            "佐藤",
            "鈴木",
            "高橋",
            "田中",
            "伊藤",
            "渡辺",
            "山本",
            "中村",
            "小林",
            "加藤",
            "吉田",
            "山田",
            "松本",
            "井上",
            "木村",
            "林",
            "清水",
            "森",
            "池田",
            "橋本",
            "石川",
            "前田",
        ),
    },
    "zh": {
        "female": (
            "小雨",
            "思琪",
            "雅婷",
            "佳怡",
            "欣然",
            "梦瑶",
            "晓婷",
            "诗涵",
            "静怡",
            "一诺",
            "可馨",
            "若曦",
            "婉清",
            "嘉欣",
            "雨桐",
            "心怡",
            "梓涵",
            "晨曦",
            "悦",
            "丹",
        ),
        "male": (
            "浩然",
            "子轩",
            "宇航",
            "俊杰",
            "明轩",
            "志强",
            "博文",
            "天宇",
            "家豪",
            "伟",
            "晨阳",
            "思远",
            "嘉诚",
            "文博",
            "昊天",
            "鹏",
            "立新",
            "一鸣",
            "泽宇",
            "凯",
        ),
        "surnames": (
            "王",
            "李",
            "张",
            "刘",
            "陈",
            "杨",
            "赵",
            "黄",
            "周",
            "吴",
            "徐",
            "孙",
            "胡",
            "朱",
            "高",
            "林",
            "何",
            "郭",
            "马",
            "罗",
            "梁",
            "宋",
        ),
    },
}

OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation({"en": "university student", "ja": "大学生", "zh": "大学生"}, 18, 24),
    Occupation({"en": "graduate student", "ja": "大学院生", "zh": "研究生"}, 22, 32),
    Occupation({"en": "nurse", "ja": "看護師", "zh": "护士"}, 22, 60),
    Occupation({"en": "software engineer", "ja": "ソフトウェアエンジニア", "zh": "软件工程师"}, 22, 55),
    Occupation({"en": "primary school teacher", "ja": "小学校の先生", "zh": "小学老师"}, 23, 62),
    Occupation({"en": "line cook", "ja": "レストランの調理師", "zh": "餐厅厨师"}, 19, 55),
    Occupation({"en": "graphic designer", "ja": "グラフィックデザイナー", "zh": "平面设计师"}, 21, 50),
    Occupation({"en": "accountant", "ja": "会計士", "zh": "会计"}, 24, 63),
    Occupation({"en": "bookshop clerk", "ja": "書店員", "zh": "书店店员"}, 18, 45),
    Occupation({"en": "delivery driver", "ja": "配達ドライバー", "zh": "快递员"}, 20, 55),
    Occupation({"en": "freelance translator", "ja": "フリーの翻訳者", "zh": "自由译者"}, 24, 60),
    Occupation({"en": "physiotherapist", "ja": "理学療法士", "zh": "康复理疗师"}, 24, 58),
    Occupation({"en": "barista", "ja": "カフェの店員", "zh": "咖啡师"}, 18, 35),
    Occupation({"en": "civil servant", "ja": "公務員", "zh": "公务员"}, 23, 62),
    Occupation({"en": "sales representative", "ja": "営業職", "zh": "销售"}, 22, 55),
    Occupation({"en": "lab researcher", "ja": "研究所の研究員", "zh": "科研人员"}, 25, 60),
    Occupation({"en": "hair stylist", "ja": "美容師", "zh": "发型师"}, 20, 50),
    Occupation({"en": "electrician", "ja": "電気工事士", "zh": "电工"}, 20, 60),
    Occupation({"en": "video editor", "ja": "動画編集者", "zh": "视频剪辑师"}, 20, 45),
    Occupation({"en": "pharmacist", "ja": "薬剤師", "zh": "药剂师"}, 25, 63),
    Occupation({"en": "retired postal worker", "ja": "元郵便局員（退職）", "zh": "退休邮递员"}, 61, 78),
    Occupation(
        {"en": "part-time musician", "ja": "バンドマン（アルバイトと両立）", "zh": "兼职乐手"}, 19, 40
    ),
    Occupation({"en": "startup founder", "ja": "スタートアップの創業者", "zh": "创业公司创始人"}, 24, 50),
    Occupation({"en": "hotel receptionist", "ja": "ホテルのフロント係", "zh": "酒店前台"}, 19, 45),
    Occupation({"en": "data analyst", "ja": "データアナリスト", "zh": "数据分析师"}, 22, 50),
    Occupation({"en": "gardener", "ja": "庭師", "zh": "园艺师"}, 25, 70),
    Occupation({"en": "social worker", "ja": "ソーシャルワーカー", "zh": "社工"}, 23, 62),
    Occupation({"en": "retired teacher", "ja": "退職した元教師", "zh": "退休教师"}, 60, 76),
    Occupation({"en": "office administrator", "ja": "事務職", "zh": "行政文员"}, 21, 60),
    Occupation({"en": "game developer", "ja": "ゲーム開発者", "zh": "游戏开发者"}, 22, 45),
)

ORIGINS: tuple[Localized, ...] = (
    {"en": "Grew up in a small coastal town", "ja": "海辺の小さな町で育った", "zh": "在海边小镇长大"},
    {"en": "Raised in a busy city centre", "ja": "都会のど真ん中で育った", "zh": "在热闹的市中心长大"},
    {"en": "Grew up on a family farm", "ja": "実家は農家", "zh": "在农村的家里长大"},
    {
        "en": "Moved between countries as a child",
        "ja": "子どもの頃は海外を転々とした",
        "zh": "小时候跟着父母在国外搬了好几次家",
    },
    {"en": "The eldest of four siblings", "ja": "四人きょうだいの長子", "zh": "家里四个孩子中的老大"},
    {"en": "An only child of two doctors", "ja": "医者の両親を持つ一人っ子", "zh": "父母都是医生的独生子女"},
    {"en": "Grew up above the family shop", "ja": "家業の店の二階で育った", "zh": "从小住在自家小店楼上"},
    {
        "en": "Raised by grandparents in a quiet suburb",
        "ja": "静かな郊外で祖父母に育てられた",
        "zh": "在安静的郊区由爷爷奶奶带大",
    },
    {"en": "Grew up in a mountain village", "ja": "山あいの村の出身", "zh": "在山村长大"},
    {
        "en": "Comes from a large, noisy family",
        "ja": "大家族のにぎやかな家の出身",
        "zh": "来自一个热热闹闹的大家庭",
    },
    {
        "en": "Spent school years in a boarding school",
        "ja": "中高時代は寮生活だった",
        "zh": "中学时期一直住校",
    },
    {"en": "Grew up in a harbour city", "ja": "港町の出身", "zh": "在港口城市长大"},
)

SITUATIONS: tuple[Localized, ...] = (
    {
        "en": "moved to the city for a new job",
        "ja": "新しい仕事のために上京してきた",
        "zh": "为了新工作搬到这座城市",
    },
    {
        "en": "recently left a long relationship",
        "ja": "最近、長い付き合いの恋人と別れた",
        "zh": "最近刚结束一段长久的感情",
    },
    {
        "en": "saving up to travel for a year",
        "ja": "一年間の旅のために貯金中",
        "zh": "正在攒钱准备出去旅行一年",
    },
    {
        "en": "is training for a first marathon",
        "ja": "初マラソンに向けて練習中",
        "zh": "正在为第一次跑马拉松做准备",
    },
    {
        "en": "is learning to cook after years of takeaway",
        "ja": "外食続きだったが料理を習い始めた",
        "zh": "吃了多年外卖后开始学做饭",
    },
    {
        "en": "is back in education after a career break",
        "ja": "しばらく働いたあと学び直している",
        "zh": "工作几年后重新回到学校",
    },
    {
        "en": "plays in an amateur band at weekends",
        "ja": "週末はアマチュアバンドで演奏している",
        "zh": "周末在业余乐队里玩音乐",
    },
    {
        "en": "looks after a younger sibling on weekends",
        "ja": "週末は年の離れた弟妹の面倒を見ている",
        "zh": "周末要照顾年纪小的弟弟妹妹",
    },
    {"en": "just adopted a rescue cat", "ja": "保護猫を迎えたばかり", "zh": "刚领养了一只流浪猫"},
    {
        "en": "is writing a novel in spare moments",
        "ja": "空いた時間に小説を書いている",
        "zh": "业余时间在写一本小说",
    },
    {
        "en": "moved in to save money for a house",
        "ja": "家を買う資金を貯めるためにシェアハウスに入った",
        "zh": "为了攒钱买房搬进合租房",
    },
    {
        "en": "is new to the country and making friends",
        "ja": "この国に来たばかりで友達を作っているところ",
        "zh": "刚来这个国家，正在慢慢交朋友",
    },
)

VALUES: tuple[Tagged, ...] = (
    Tagged({"en": "honesty", "ja": "誠実さ", "zh": "真诚"}, "T"),
    Tagged({"en": "kindness", "ja": "思いやり", "zh": "善良"}, "F"),
    Tagged({"en": "harmony in the group", "ja": "みんなの和", "zh": "大家和睦"}, "F"),
    Tagged({"en": "fairness", "ja": "公平さ", "zh": "公平"}, "T"),
    Tagged({"en": "freedom", "ja": "自由", "zh": "自由"}, "P"),
    Tagged({"en": "reliability", "ja": "信頼できること", "zh": "靠谱"}, "J"),
    Tagged({"en": "curiosity", "ja": "好奇心", "zh": "好奇心"}, "N"),
    Tagged({"en": "tradition", "ja": "伝統", "zh": "传统"}, "S"),
    Tagged({"en": "efficiency", "ja": "効率", "zh": "效率"}, "T"),
    Tagged({"en": "creativity", "ja": "創造性", "zh": "创造力"}, "N"),
    Tagged({"en": "family", "ja": "家族", "zh": "家人"}, "F"),
    Tagged({"en": "independence", "ja": "自立", "zh": "独立"}, "I"),
    Tagged({"en": "adventure", "ja": "冒険", "zh": "冒险"}, "E"),
    Tagged({"en": "order and tidiness", "ja": "きちんとしていること", "zh": "整洁有序"}, "J"),
    Tagged({"en": "spontaneity", "ja": "その場のノリ", "zh": "随性"}, "P"),
    Tagged({"en": "friendship", "ja": "友情", "zh": "友情"}, "E"),
    Tagged({"en": "practicality", "ja": "実用性", "zh": "实用"}, "S"),
    Tagged({"en": "personal growth", "ja": "成長", "zh": "自我成长"}, "N"),
)

PREFERENCES: tuple[Tagged, ...] = (
    Tagged({"en": "quiet evenings at home", "ja": "家で静かに過ごす夜", "zh": "在家安静的夜晚"}, "I"),
    Tagged({"en": "big group dinners", "ja": "大人数での食事", "zh": "一大群人一起吃饭"}, "E"),
    Tagged({"en": "cooking for others", "ja": "人に料理をふるまうこと", "zh": "给别人做饭"}, "F"),
    Tagged({"en": "board games", "ja": "ボードゲーム", "zh": "桌游"}, "E"),
    Tagged({"en": "reading in bed", "ja": "布団の中での読書", "zh": "躺在床上看书"}, "I"),
    Tagged({"en": "early morning runs", "ja": "早朝ランニング", "zh": "晨跑"}, "J"),
    Tagged({"en": "sleeping in on weekends", "ja": "週末の朝寝坊", "zh": "周末睡懒觉"}, "P"),
    Tagged({"en": "clear house rules", "ja": "はっきりした家のルール", "zh": "清楚的合租规则"}, "J"),
    Tagged({"en": "last-minute trips", "ja": "思いつきの小旅行", "zh": "说走就走的旅行"}, "P"),
    Tagged({"en": "documentaries", "ja": "ドキュメンタリー番組", "zh": "纪录片"}, "N"),
    Tagged({"en": "gardening", "ja": "ガーデニング", "zh": "种花种草"}, "S"),
    Tagged({"en": "karaoke", "ja": "カラオケ", "zh": "唱K"}, "E"),
    Tagged({"en": "video games", "ja": "テレビゲーム", "zh": "打游戏"}, "I"),
    Tagged({"en": "a tidy kitchen", "ja": "片付いた台所", "zh": "干净的厨房"}, "J"),
    Tagged({"en": "spicy food", "ja": "辛い料理", "zh": "吃辣"}, ""),
    Tagged({"en": "sweets and baking", "ja": "お菓子作り", "zh": "烘焙甜点"}, "F"),
    Tagged({"en": "long phone calls with friends", "ja": "友達との長電話", "zh": "和朋友煲电话粥"}, "E"),
    Tagged({"en": "museums and galleries", "ja": "美術館めぐり", "zh": "逛博物馆和美术馆"}, "N"),
    Tagged({"en": "fixing things by hand", "ja": "自分で物を直すこと", "zh": "自己动手修东西"}, "S"),
    Tagged({"en": "camping", "ja": "キャンプ", "zh": "露营"}, "S"),
    Tagged({"en": "deep late-night talks", "ja": "夜更けの語り合い", "zh": "深夜长谈"}, "N"),
    Tagged({"en": "a fixed daily routine", "ja": "決まった生活リズム", "zh": "规律的作息"}, "J"),
    Tagged({"en": "trying new cafés", "ja": "新しいカフェ開拓", "zh": "探店打卡新咖啡馆"}, "P"),
    Tagged({"en": "watching football", "ja": "サッカー観戦", "zh": "看足球"}, "E"),
)

# First-person pronouns: language -> formality -> gender -> choices (repeats weight the draw).
FIRST_PERSON: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "ja": {
        "casual": {"female": ("私", "私", "うち", "あたし"), "male": ("俺", "俺", "僕", "自分")},
        "neutral": {"female": ("私", "私", "うち"), "male": ("僕", "僕", "私", "自分")},
        "polite": {"female": ("私",), "male": ("私", "僕", "自分")},
        "very_polite": {"female": ("私", "わたくし"), "male": ("私", "わたくし")},
    },
    "zh": {
        "casual": {"female": ("我", "我", "我", "人家", "咱"), "male": ("我", "我", "我", "咱")},
        "neutral": {"female": ("我",), "male": ("我",)},
        "polite": {"female": ("我",), "male": ("我",)},
        "very_polite": {"female": ("我", "我", "本人"), "male": ("我", "我", "本人")},
    },
}


@dataclass(frozen=True)
class StyleTopic:
    """An everyday question (nothing to do with the scenario) and clauses a persona can answer it with.

    ``clauses`` maps a voice to clauses: ``en`` for English, ``ja_casual``/``ja_polite`` and
    ``zh`` for Japanese and Chinese. Clauses are joined in the persona's punctuation habit until the
    answer reaches the persona's length.
    """

    question: Localized
    clauses: dict[str, tuple[str, ...]]


STYLE_TOPICS: tuple[StyleTopic, ...] = (
    StyleTopic(
        {
            "en": "What did you have for dinner yesterday?",
            "ja": "昨日の夜ごはん、何食べた？",
            "zh": "你昨天晚饭吃的什么？",
        },
        {
            "en": (
                "I made a big pot of lentil soup with whatever was left in the fridge",
                "it turned out better than expected so there are leftovers for two more days",
                "I was going to order noodles but the delivery fee put me off",
                "next time I want to try it with a bit more chilli",
            ),
            "ja_casual": (
                "冷蔵庫の残り物で適当にチャーハン作った",
                "思ったよりうまくできたから明日の弁当にもする",
                "ほんとはラーメン食べに行きたかったけど雨で面倒になった",
                "次はもうちょっとネギ多めにしたい",
            ),
            "ja_polite": (
                "冷蔵庫の残り物で簡単に野菜炒めを作りました",
                "思ったより上手にできたので、明日のお弁当にも入れるつもりです",
                "本当は外に食べに行きたかったのですが、雨だったのでやめました",
                "次はもう少し味を濃くしてみようと思っています",
            ),
            "zh": (
                "用冰箱里剩的菜随便炒了个饭",
                "味道比想象的好，明天的午饭也有了",
                "本来想点外卖，看到配送费就算了",
                "下次想多放点辣椒试试",
            ),
        },
    ),
    StyleTopic(
        {"en": "How was your weekend?", "ja": "週末どうだった？", "zh": "你周末过得怎么样？"},
        {
            "en": (
                "Saturday was mostly laundry and a long nap on the sofa",
                "on Sunday I finally walked to that market by the river",
                "I bought way too many tomatoes and a plant I will probably forget to water",
                "it was slow but exactly what I needed after last week",
            ),
            "ja_casual": (
                "土曜はほぼ洗濯と昼寝で終わった",
                "日曜はやっと川沿いの市場まで歩いて行ってきた",
                "トマト買いすぎたし、たぶん水やり忘れる植物まで買っちゃった",
                "のんびりだったけど先週の疲れがとれてよかった",
            ),
            "ja_polite": (
                "土曜日はほとんど洗濯と昼寝で終わりました",
                "日曜日にようやく川沿いの市場まで歩いて行ってきました",
                "トマトを買いすぎてしまい、観葉植物まで買ってしまいました",
                "のんびりでしたが、先週の疲れがとれてよかったです",
            ),
            "zh": (
                "周六基本就是洗衣服加睡午觉",
                "周日终于走去河边那个集市逛了逛",
                "西红柿买多了，还顺手买了一盆估计会忘记浇水的花",
                "过得很慢，不过正好缓一缓上周的累",
            ),
        },
    ),
    StyleTopic(
        {"en": "How's work going these days?", "ja": "最近仕事はどう？", "zh": "最近工作怎么样？"},
        {
            "en": (
                "it's busy because two people on my team are off at the same time",
                "I keep saying I'll leave on time and then it's suddenly seven",
                "the good part is I'm learning a lot faster than last year",
                "I'm counting the days until the long weekend",
            ),
            "ja_casual": (
                "チームの二人が同時に休んでてけっこうバタバタしてる",
                "定時で帰るって毎日言ってるのに気づいたら七時なんだよね",
                "でも去年よりいろいろ覚えるのが早くなった気がする",
                "連休まであと何日か数えてる",
            ),
            "ja_polite": (
                "チームの二人が同時にお休みしていて、少しバタバタしています",
                "定時で帰ろうと思っていても、気づくと七時になっています",
                "ただ、去年より覚えることが早くなった気がします",
                "連休まであと何日か数えているところです",
            ),
            "zh": (
                "组里两个人同时请假，最近挺忙的",
                "每天都说要准时下班，一抬头就七点了",
                "好处是感觉比去年学东西快多了",
                "现在天天在数离小长假还有几天",
            ),
        },
    ),
    StyleTopic(
        {"en": "Crazy weather today, huh?", "ja": "今日の天気すごかったね", "zh": "今天天气好怪啊"},
        {
            "en": (
                "I got soaked on the way back because I left my umbrella at home",
                "it was sunny in the morning so I really didn't see it coming",
                "my shoes are still drying by the heater",
                "at least the air feels fresh now",
            ),
            "ja_casual": (
                "傘忘れて帰りにびしょ濡れになった",
                "朝は晴れてたから完全に油断してた",
                "靴がまだ乾いてない",
                "まあ空気はすっきりしたけどね",
            ),
            "ja_polite": (
                "傘を忘れてしまって、帰りにびしょ濡れになりました",
                "朝は晴れていたので、すっかり油断していました",
                "靴がまだ乾いていません",
                "でも空気がすっきりして気持ちいいですね",
            ),
            "zh": (
                "忘带伞了，回来的路上淋成落汤鸡",
                "早上还是大晴天，完全没想到",
                "鞋子现在还在暖气边上晾着",
                "不过空气倒是清新了不少",
            ),
        },
    ),
    StyleTopic(
        {
            "en": "Seen any good films lately?",
            "ja": "最近なにか面白い映画観た？",
            "zh": "最近看了什么好电影吗？",
        },
        {
            "en": (
                "I watched an old black and white detective film on a whim",
                "the plot was slow but the ending really got me",
                "I fell asleep during the first one I tried though",
                "I could lend it to you if you like that kind of thing",
            ),
            "ja_casual": (
                "なんとなく古い白黒の探偵映画観た",
                "話はゆっくりだけどラストがよかった",
                "その前に観ようとしたやつは途中で寝ちゃった",
                "そういうの好きなら貸すよ",
            ),
            "ja_polite": (
                "なんとなく古い白黒の探偵映画を観ました",
                "話はゆっくりでしたが、最後がとてもよかったです",
                "その前に観た作品は途中で寝てしまいました",
                "よろしければお貸しします",
            ),
            "zh": (
                "心血来潮看了一部老的黑白侦探片",
                "节奏有点慢，但结局真的很好",
                "之前看的那部我看到一半就睡着了",
                "你喜欢这种的话可以借你",
            ),
        },
    ),
    StyleTopic(
        {
            "en": "What do you do to relax?",
            "ja": "リラックスしたいときは何してる？",
            "zh": "你平时怎么放松？",
        },
        {
            "en": (
                "usually a hot shower and a podcast about history",
                "sometimes I go for a walk without my phone",
                "I tried meditation once but my mind kept wandering to emails",
                "a good cup of tea fixes most things for me",
            ),
            "ja_casual": (
                "だいたい熱いシャワー浴びて歴史のポッドキャスト聞いてる",
                "スマホ置いて散歩することもある",
                "瞑想もやってみたけどメールのことばっか考えちゃった",
                "おいしいお茶があればだいたい元気になる",
            ),
            "ja_polite": (
                "たいてい熱いシャワーを浴びて、歴史のポッドキャストを聞いています",
                "スマホを置いて散歩することもあります",
                "瞑想も試しましたが、ついメールのことを考えてしまいました",
                "おいしいお茶を飲むとだいたい落ち着きます",
            ),
            "zh": (
                "一般就是洗个热水澡，听听历史播客",
                "有时候会不带手机出去散散步",
                "试过冥想，结果满脑子都是邮件",
                "一杯好茶基本就能让我缓过来",
            ),
        },
    ),
)

QUESTION_BACK: dict[str, tuple[str, ...]] = {
    # Short questions back, per voice (as in StyleTopic.clauses); the persona's question_rate decides
    # how often an example answer ends with one.
    "en": ("what about you?", "you?", "how about yours?"),
    "ja_casual": ("そっちは？", "そっちはどう？"),
    "ja_polite": ("そちらはどうですか？", "いかがでしたか？"),
    "zh": ("你呢？", "你那边呢？", "你怎么样？"),
}

EMOJI: tuple[str, ...] = ("😊", "😂", "👍", "🙏", "✨", "😅", "🎉", "🙂", "😆", "🥲")

# Style numbers per language, measured on the 100 real YNTP-100 participants (all five days) by
# scripts/calibrate_personas.py, which prints this constant. Lengths are words (en) or non-space
# characters (ja, zh). ``length_bands`` splits the people into thirds by mean reply length
# (terse / moderate / elaborate); each band gives the interquartile range of those people's short
# replies (20th percentile) and long replies (80th percentile): ((min low, min high), (max low,
# max high)). The shares are the fraction of people with each habit (floored at 0.03 so that every
# habit stays possible). No real participant used an emoji; ``emoji_people`` keeps a few emoji users.
# ``question_rates`` are the quartiles of the per-person share of replies that ask something back.
# ``typo_rates`` (English; a persona draws one of six): the per-person share of words of four letters
# or more that are one edit away from a known word and not one themselves (the MiniLM vocabulary
# plus every word the real people wrote 3 times or more): 39 % of the English people made none,
# median .006, 75th percentile .015, 90th .025, highest .06; .009 over all their words. Only
# English replies get slips (cleaning.add_typos); the tuple for ja and zh keeps the draw in step.
STYLE_CALIBRATION: dict[str, dict[str, Any]] = {
    "en": {
        "mean_len": 24.1,
        "length_bands": {
            "terse": ((5, 9), (14, 22)),
            "moderate": ((10, 16), (24, 32)),
            "elaborate": ((19, 34), (41, 51)),
        },
        "line_breaks": {"never": 0.82, "sometimes": 0.12, "often": 0.06},
        "punctuation": {"none": 0.03, "minimal": 0.12, "full": 0.61, "exclamations": 0.18, "ellipses": 0.06},
        "emoji_people": 0.03,
        "emoji_rates": (0.05, 0.1),
        "question_rates": (0.06, 0.12, 0.24),
        "typo_rates": (0.0, 0.0, 0.004, 0.008, 0.015, 0.03),
        "lower_people": 0.06,
    },
    "ja": {
        "mean_len": 61.8,
        "length_bands": {
            "terse": ((17, 23), (35, 49)),
            "moderate": ((30, 37), (73, 85)),
            "elaborate": ((44, 80), (102, 142)),
        },
        "line_breaks": {"never": 0.85, "sometimes": 0.09, "often": 0.06},
        "punctuation": {"none": 0.03, "minimal": 0.48, "full": 0.39, "exclamations": 0.09, "ellipses": 0.03},
        "emoji_people": 0.03,
        "emoji_rates": (0.05, 0.1),
        "question_rates": (0.0, 0.1, 0.25),
        "typo_rates": (0.0, 0.0, 0.0, 0.01, 0.02),
        "lower_people": 0.0,
    },
    "zh": {
        "mean_len": 39.7,
        "length_bands": {
            "terse": ((5, 9), (14, 27)),
            "moderate": ((14, 21), (37, 45)),
            "elaborate": ((30, 60), (92, 111)),
        },
        "line_breaks": {"never": 0.91, "sometimes": 0.06, "often": 0.03},
        "punctuation": {"none": 0.06, "minimal": 0.71, "full": 0.18, "exclamations": 0.03, "ellipses": 0.03},
        "emoji_people": 0.03,
        "emoji_rates": (0.05, 0.1),
        "question_rates": (0.0, 0.05, 0.07),
        "typo_rates": (0.0, 0.0, 0.0, 0.01, 0.02),
        "lower_people": 0.0,
    },
}
