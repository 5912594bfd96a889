"""Curated attribute pools the persona generator draws from (names, jobs, values, voices).

Every localised entry is a mapping ``{"en": ..., "ja": ..., "zh": ...}``. Sample-reply units are
written without sentence-final punctuation (the generator adds it in the persona's habit) and use
``{I}`` where a Japanese or Chinese speaker would say their first-person pronoun.
"""

from __future__ import annotations

from dataclasses import dataclass

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

# Reply units per language and formality: "short" ones make terse replies, "long" ones are sentences.
SAMPLE_UNITS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "en": {
        "casual": {
            "short": ("yeah sure", "lol same", "sounds fun tbh", "nah I'm good", "ok deal", "haha maybe"),
            "long": (
                "Honestly I'd just order pizza and call it a night",
                "I'm down for a movie if someone else picks",
                "Mornings are not my thing at all",
                "We could just split chores by day of the week",
                "I've been kinda wiped lately so chill plans work for me",
                "If there's karaoke I'm definitely in",
            ),
        },
        "neutral": {
            "short": ("Sounds good to me", "Sure, why not", "Maybe later this week", "I think so, yes"),
            "long": (
                "I usually cook on Sundays, so I can take care of dinner",
                "A quiet evening with a book is my idea of a good time",
                "I'm fine with a cleaning rota as long as it's fair",
                "Weekends I mostly see friends or go for a walk",
                "I'd rather keep the rules simple so nobody feels policed",
                "I get more done at night than in the morning",
            ),
        },
        "polite": {
            "short": (
                "That sounds lovely, thank you",
                "I'd be happy to help",
                "Yes, that works for me",
                "What a nice idea",
            ),
            "long": (
                "Thank you for asking, I'd prefer something calm this weekend",
                "I like to plan ahead, so a shared calendar would help me a lot",
                "I try to keep the common areas tidy for everyone",
                "If anyone needs a hand with anything, please let me know",
                "I'd like to hear what the others think before we decide",
                "On my days off I usually walk around the neighbourhood",
            ),
        },
        "very_polite": {
            "short": (
                "Thank you so much, that is very kind of you",
                "I would be delighted, if it is no trouble",
                "Of course, whatever suits everyone best",
                "That is a wonderful suggestion",
            ),
            "long": (
                "I really appreciate you thinking of me",
                "If it suits everyone, I would gladly prepare something for the shared dinner",
                "I hope you will not mind if I share a small thought of my own",
                "I tend to spend my free time reading, if I may say so",
                "Please do not hesitate to ask me whenever you need help",
                "I am very grateful to be living with such considerate people",
            ),
        },
    },
    "ja": {
        "casual": {
            "short": ("いいね、それ", "{I}はパスかな", "まじで？", "うん、行く", "わかる〜", "それな"),
            "long": (
                "{I}は週末ずっと家でゴロゴロしてたいな",
                "料理なら{I}に任せて、カレーくらいなら作れるし",
                "正直、朝早いのはほんと苦手なんだよね",
                "みんなで映画見るのとか楽しそう",
                "掃除当番は曜日で決めちゃえばいいと思う",
                "最近ちょっと疲れ気味だから、のんびりしたい",
            ),
        },
        "neutral": {
            "short": ("いいですね", "たぶん大丈夫です", "{I}もそう思います", "うーん、どうでしょう"),
            "long": (
                "{I}は静かな場所で本を読むのが好きです",
                "料理はあまり得意じゃないけど、片付けならやります",
                "週末は友達とカフェに行くことが多いです",
                "ルールは少なめの方が気楽でいいと思います",
                "たまにはみんなで集まるのも楽しそうですね",
                "朝は弱いので、夜の方が動きやすいです",
            ),
        },
        "polite": {
            "short": ("ありがとうございます", "はい、大丈夫です", "それは素敵ですね", "{I}も参加したいです"),
            "long": (
                "お誘いいただけて嬉しいです、ぜひ参加させてください",
                "{I}は計画を立ててから動くほうが安心できます",
                "共有スペースはいつもきれいに使いたいと思っています",
                "休日は近所を散歩して過ごすことが多いです",
                "何か手伝えることがあれば遠慮なく言ってください",
                "皆さんの意見も聞いてから決めたいです",
            ),
        },
        "very_polite": {
            "short": (
                "恐れ入ります",
                "承知いたしました",
                "ありがとうございます、光栄です",
                "ぜひご一緒させてください",
            ),
            "long": (
                "お心遣いいただき、誠にありがとうございます",
                "{I}でよろしければ、喜んでお手伝いいたします",
                "ご提案いただいた内容、大変素晴らしいと存じます",
                "差し支えなければ、{I}の考えも少しお伝えしてよろしいでしょうか",
                "休日は主に読書をして過ごしております",
                "皆様のご都合に合わせますので、どうぞお気軽にお声がけください",
            ),
        },
    },
    "zh": {
        "casual": {
            "short": ("好啊", "哈哈哈可以", "{I}就不去了吧", "真的假的？", "行，没问题", "随便啦"),
            "long": (
                "{I}周末就想在家躺着追剧",
                "做饭的话交给{I}，简单的家常菜还是会的",
                "说实话{I}早上真的起不来",
                "大家一起看电影听起来挺好玩的",
                "打扫的事排个表轮流来就行",
                "最近有点累，想好好歇一歇",
            ),
        },
        "neutral": {
            "short": ("可以的", "{I}觉得还行", "应该没问题", "嗯，看情况吧"),
            "long": (
                "{I}平时比较喜欢安静地看看书",
                "做饭不太擅长，不过洗碗可以交给{I}",
                "周末一般会和朋友出去吃个饭",
                "规矩少一点大家会更自在",
                "偶尔一起聚聚也挺不错的",
                "{I}晚上精神比较好，早上就不太行",
            ),
        },
        "polite": {
            "short": ("谢谢你的邀请", "好的，没问题", "这个主意很不错", "{I}也很想参加"),
            "long": (
                "谢谢大家想着{I}，{I}很乐意参加",
                "{I}习惯先做好计划再行动，这样比较安心",
                "公共区域还是希望大家一起保持整洁",
                "休息的时候{I}一般会去附近公园散散步",
                "如果有需要帮忙的地方，请随时告诉{I}",
                "{I}想先听听大家的意见再决定",
            ),
        },
        "very_polite": {
            "short": ("非常感谢您的好意", "您太客气了", "荣幸之至，一定参加", "好的，听您安排"),
            "long": (
                "承蒙您的关照，{I}深表感谢",
                "如果不嫌弃的话，{I}很愿意帮忙",
                "您的提议非常周到，{I}十分赞同",
                "冒昧说一下{I}的想法，还请多多指教",
                "{I}平日里大多以读书来打发时间",
                "一切以大家的方便为准，请随时吩咐",
            ),
        },
    },
}

EMOJI: tuple[str, ...] = ("😊", "😂", "👍", "🙏", "✨", "😅", "🎉", "🙂", "😆", "🥲")

# Typical reply lengths per elaboration: words for en, characters for ja/zh (low, high ranges).
LENGTH_BANDS: dict[str, dict[str, tuple[tuple[int, int], tuple[int, int]]]] = {
    # elaboration -> ((min low, min high), (max low, max high))
    "en": {"terse": ((1, 3), (6, 10)), "moderate": ((6, 10), (18, 30)), "elaborate": ((18, 28), (45, 75))},
    "ja": {
        "terse": ((3, 8), (15, 25)),
        "moderate": ((15, 25), (50, 80)),
        "elaborate": ((50, 70), (120, 180)),
    },
    "zh": {"terse": ((2, 5), (10, 18)), "moderate": ((10, 18), (35, 60)), "elaborate": ((35, 55), (90, 140))},
}
