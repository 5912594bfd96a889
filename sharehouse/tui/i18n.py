"""The one catalogue of interface strings of the game, in English, Japanese and Chinese.

Scenario text (room names, housemates, topics) comes from the scenario file; everything else the
player reads goes through :func:`t`. Keys are dotted ``area.name``; values may hold ``{named}``
placeholders filled by :func:`t`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from sharehouse.lang import LANGS, NATIVE_NAMES

UI_LANGS: tuple[str, ...] = LANGS
DEFAULT_LANG = "en"

#: The name of each language, written in that language (shown in the language picker).
LANGUAGE_LABELS: Mapping[str, str] = NATIVE_NAMES

CATALOGUE: dict[str, dict[str, str]] = {
    # -- start screen ---------------------------------------------------------------------------
    "start.subtitle": {
        "en": "A five-day stay in a shared house",
        "ja": "シェアハウスで過ごす五日間",
        "zh": "在合租屋里度过的五天",
    },
    "start.language": {
        "en": "Language (interface and housemates)",
        "ja": "言語（画面とハウスメイト）",
        "zh": "语言（界面和室友）",
    },
    "start.nickname": {
        "en": "Nickname or participant id",
        "ja": "ニックネームまたは参加者ID",
        "zh": "昵称或参与者编号",
    },
    "start.nickname_placeholder": {
        "en": "e.g. sunny or P017",
        "ja": "例：はる、P017",
        "zh": "例如：小林 或 P017",
    },
    "start.consent_title": {
        "en": "How your conversation is used",
        "ja": "会話の利用について",
        "zh": "对话内容的用途",
    },
    "start.consent_text": {
        "en": (
            "Everything you and the housemates say is saved in a database on this computer, under your "
            "nickname. It is used for research on how language models can learn to reply the way a "
            "particular person would. Write nothing you would not want a researcher to read. If a remote "
            "model is chosen in Settings, the conversation is also sent to that model's service. You may "
            "stop at any time."
        ),
        "ja": (
            "あなたとハウスメイトの会話はすべて、ニックネームと一緒にこのコンピューターのデータベースに保存されます。"
            "言語モデルが特定の人らしい返事を学べるかどうかを調べる研究に使われます。"
            "研究者に読まれて困ることは書かないでください。設定で外部のモデルを選んだ場合は、"
            "会話がそのサービスにも送られます。いつでもやめることができます。"
        ),
        "zh": (
            "你和室友们说的每一句话都会连同你的昵称一起保存在这台电脑的数据库里，"
            "用于研究语言模型能否学会像某个人那样回复。请不要写你不希望研究人员看到的内容。"
            "如果在设置里选择了远程模型，对话也会发送到该模型的服务。你可以随时停止。"
        ),
    },
    "start.consent_accept": {
        "en": "I have read this and agree",
        "ja": "内容を読み、同意します",
        "zh": "我已阅读并同意",
    },
    "start.new_game": {"en": "Start a new game", "ja": "新しく始める", "zh": "开始新游戏"},
    "start.continue": {"en": "Continue a saved game", "ja": "続きから遊ぶ", "zh": "继续存档"},
    "start.settings": {"en": "Settings", "ja": "設定", "zh": "设置"},
    "start.quit": {"en": "Quit", "ja": "終了", "zh": "退出"},
    "start.need_nickname": {
        "en": "Please enter a nickname or participant id.",
        "ja": "ニックネームまたは参加者IDを入力してください。",
        "zh": "请输入昵称或参与者编号。",
    },
    "start.need_consent": {
        "en": "Please read the notice and tick the box to start.",
        "ja": "説明を読んで、同意のチェックを入れてください。",
        "zh": "请阅读说明并勾选同意后再开始。",
    },
    "start.model": {"en": "Model: {spec}", "ja": "モデル：{spec}", "zh": "模型：{spec}"},
    # -- continue -------------------------------------------------------------------------------
    "continue.title": {"en": "Continue a saved game", "ja": "続きから遊ぶ", "zh": "继续存档"},
    "continue.empty": {
        "en": "There is no unfinished game in this database yet.",
        "ja": "このデータベースには、まだ途中のゲームがありません。",
        "zh": "这个数据库里还没有未完成的游戏。",
    },
    "continue.row": {
        "en": "{user} · {language} · day {day} · replies: {turns} · {updated}",
        "ja": "{user}・{language}・{day}日目・返事{turns}件・{updated}",
        "zh": "{user} · {language} · 第{day}天 · 回复：{turns} · {updated}",
    },
    "continue.back": {"en": "Back", "ja": "戻る", "zh": "返回"},
    # -- settings -------------------------------------------------------------------------------
    "settings.title": {"en": "Settings", "ja": "設定", "zh": "设置"},
    "settings.model": {"en": "Model", "ja": "モデル", "zh": "模型"},
    "settings.model_help": {
        "en": (
            "local: the default local model (better replies). local:small: a smaller, faster local model. "
            "Or a litellm model name such as openai/gpt-4o-mini."
        ),
        "ja": (
            "local：標準のローカルモデル（返事の質が高い）。local:small：小さくて速いローカルモデル。"
            "または openai/gpt-4o-mini のような litellm のモデル名。"
        ),
        "zh": (
            "local：默认的本地模型（回复质量更好）。local:small：更小更快的本地模型。"
            "也可以填写 litellm 模型名，例如 openai/gpt-4o-mini。"
        ),
    },
    "settings.api_base": {
        "en": "API base URL (litellm models only)",
        "ja": "API のベース URL（litellm モデルのみ）",
        "zh": "API 基础地址（仅限 litellm 模型）",
    },
    "settings.save": {"en": "Save", "ja": "保存", "zh": "保存"},
    "settings.cancel": {"en": "Cancel", "ja": "キャンセル", "zh": "取消"},
    "settings.invalid": {
        "en": "This model cannot be used: {error}",
        "ja": "このモデルは使えません：{error}",
        "zh": "无法使用这个模型：{error}",
    },
    "settings.saved": {
        "en": "Model set to {spec}.",
        "ja": "モデルを {spec} にしました。",
        "zh": "模型已设为 {spec}。",
    },
    # -- game screen ----------------------------------------------------------------------------
    "game.you": {"en": "You", "ja": "あなた", "zh": "你"},
    "game.day_heading": {
        "en": "Day {day} · {title}",
        "ja": "{day}日目・{title}",
        "zh": "第{day}天 · {title}",
    },
    "game.typing": {"en": "{name} is typing…", "ja": "{name}が入力中…", "zh": "{name}正在输入…"},
    "game.checking": {
        "en": "{name} is reading your reply…",
        "ja": "{name}があなたの返事を読んでいます…",
        "zh": "{name}正在看你的回复…",
    },
    "game.loading_model": {
        "en": "Waking the housemates up (loading the model)…",
        "ja": "ハウスメイトを起こしています（モデルを読み込み中）…",
        "zh": "正在叫醒室友们（加载模型中）…",
    },
    "game.placeholder": {
        "en": "Type your reply. Enter sends, Ctrl+J starts a new line.",
        "ja": "返事を入力してください。Enter で送信、Ctrl+J で改行。",
        "zh": "在这里输入回复。按 Enter 发送，Ctrl+J 换行。",
    },
    "game.wait": {
        "en": "Please wait for {name} to finish.",
        "ja": "{name}の話が終わるまでお待ちください。",
        "zh": "请等{name}说完。",
    },
    "game.empty_reply": {
        "en": "Type a reply first.",
        "ja": "先に返事を入力してください。",
        "zh": "请先输入回复。",
    },
    "game.error": {
        "en": (
            "The housemates cannot talk right now: {error}. Everything so far is saved. Press Ctrl+R to try "
            "again, or quit and continue later."
        ),
        "ja": (
            "ハウスメイトが今は話せません：{error}。ここまでの会話は保存済みです。"
            "Ctrl+R でもう一度試すか、終了して後で続けてください。"
        ),
        "zh": "室友们现在无法说话：{error}。目前的对话都已保存。按 Ctrl+R 重试，或退出后再继续。",
    },
    "game.truncated": {
        "en": "… ({count} more characters)",
        "ja": "…（あと{count}文字）",
        "zh": "……（还有{count}个字符）",
    },
    "game.saved": {
        "en": "Saved. You can continue this game later from the start screen.",
        "ja": "保存しました。スタート画面からいつでも続きを遊べます。",
        "zh": "已保存。之后可以在开始界面继续这个游戏。",
    },
    # -- status panel ---------------------------------------------------------------------------
    "status.day": {
        "en": "Day {day} of {total}",
        "ja": "{day}日目 / 全{total}日",
        "zh": "第{day}天 / 共{total}天",
    },
    "status.topic": {"en": "Topic", "ja": "話題", "zh": "话题"},
    "status.progress": {"en": "Progress", "ja": "進み具合", "zh": "进度"},
    "status.state": {"en": "State", "ja": "状態", "zh": "状态"},
    "status.mbti": {"en": "MBTI", "ja": "MBTI", "zh": "MBTI"},
    "status.over": {"en": "All five days are done", "ja": "五日間が終わりました", "zh": "五天都结束了"},
    # -- map and housemates ---------------------------------------------------------------------
    "map.legend": {
        "en": "@ you · ▶ speaking",
        "ja": "@ あなた・▶ 話している人",
        "zh": "@ 你 · ▶ 正在说话",
    },
    "npc.closeness": {"en": "Closeness", "ja": "親しさ", "zh": "亲近度"},
    "npc.silent": {"en": "(has not spoken yet)", "ja": "（まだ話していません）", "zh": "（还没说过话）"},
    # -- day summary ----------------------------------------------------------------------------
    "summary.title": {
        "en": "End of day {day}: {title}",
        "ja": "{day}日目の終わり：{title}",
        "zh": "第{day}天结束：{title}",
    },
    "summary.topics": {"en": "Today's topics", "ja": "今日の話題", "zh": "今天的话题"},
    "summary.replies": {
        "en": "You replied {count} times today.",
        "ja": "今日の返事：{count}回",
        "zh": "你今天回复了{count}次。",
    },
    "summary.next": {"en": "On to day {day}", "ja": "{day}日目へ", "zh": "进入第{day}天"},
    # -- closing --------------------------------------------------------------------------------
    "closing.title": {
        "en": "Thank you for staying!",
        "ja": "ご滞在ありがとうございました！",
        "zh": "感谢你的入住！",
    },
    "closing.text": {
        "en": (
            "You have lived through all five days in {house}. You replied {count} times. Your conversation "
            "is saved as session {session}."
        ),
        "ja": "{house}での五日間が終わりました。返事は全部で{count}回でした。会話はセッション {session} として保存されています。",
        "zh": "你在{house}度过了全部五天，一共回复了{count}次。对话已保存为会话 {session}。",
    },
    "closing.quit": {"en": "Close the game", "ja": "ゲームを閉じる", "zh": "关闭游戏"},
    # -- participant mode (a study: consent, resume code, instruments) -------------------------
    "participant.welcome": {
        "en": (
            "This game is part of a research study. If this is your first visit, start as a new "
            "participant. If you have played before, continue with the resume code you were given."
        ),
        "ja": (
            "このゲームは研究の一部です。初めての方は「初めて参加する」を、"
            "前に遊んだことがある方は、もらった再開コードで続きから遊んでください。"
        ),
        "zh": "这个游戏是一项研究的一部分。第一次来请选择“第一次参加”；以前玩过的话，请用你拿到的恢复码继续。",
    },
    "participant.new": {"en": "I'm new", "ja": "初めて参加する", "zh": "第一次参加"},
    "participant.have_code": {
        "en": "I have a resume code",
        "ja": "再開コードを持っている",
        "zh": "我有恢复码",
    },
    "participant.consent_version": {
        "en": "Version {version} of this text",
        "ja": "この説明文の版：{version}",
        "zh": "本说明的版本：{version}",
    },
    "participant.agree": {"en": "I agree", "ja": "同意する", "zh": "我同意"},
    "participant.decline": {"en": "I do not agree", "ja": "同意しない", "zh": "我不同意"},
    "participant.declined_title": {"en": "Thank you", "ja": "ありがとうございました", "zh": "谢谢"},
    "participant.declined_text": {
        "en": (
            "You did not agree, so you will not take part and nothing about you has been stored. "
            "Thank you for your time. You can close this page now."
        ),
        "ja": "同意されなかったため、参加はここまでです。あなたに関する情報は何も保存していません。お時間をいただきありがとうございました。このページは閉じてかまいません。",
        "zh": "你没有同意，因此不会参加本研究，也没有保存任何关于你的信息。感谢你抽出时间。现在可以关闭这个页面了。",
    },
    "participant.close": {"en": "Close", "ja": "閉じる", "zh": "关闭"},
    "participant.mbti_title": {"en": "Your MBTI type", "ja": "あなたの MBTI タイプ", "zh": "你的 MBTI 类型"},
    "participant.mbti_text": {
        "en": (
            "If you have taken an MBTI test and know your type, choose it. If you are not sure, "
            'choose "I don\'t know": that is a fine answer.'
        ),
        "ja": "MBTI の診断を受けたことがあり、タイプを知っていれば選んでください。よくわからなければ「わからない」を選んでください（それで問題ありません）。",
        "zh": "如果你做过 MBTI 测试并知道自己的类型，请选择它。不确定的话，请选“不知道”，这也完全可以。",
    },
    "participant.mbti_unknown": {"en": "I don't know", "ja": "わからない", "zh": "不知道"},
    "participant.nickname_title": {
        "en": "What should the game call you?",
        "ja": "ゲームでの呼び名",
        "zh": "游戏里怎么称呼你？",
    },
    "participant.nickname_text": {
        "en": (
            "A nickname, shown only on your own screen. It is not how your game is found (your resume "
            "code is), so please do not use your real name."
        ),
        "ja": "あなたの画面にだけ表示されるニックネームです。ゲームを探す手がかりには使われません（使うのは再開コードです）。本名は使わないでください。",
        "zh": "一个只显示在你自己屏幕上的昵称。找回游戏靠的不是它（而是恢复码），所以请不要用真名。",
    },
    "participant.need_nickname": {
        "en": "Please enter a nickname.",
        "ja": "ニックネームを入力してください。",
        "zh": "请输入昵称。",
    },
    "participant.next": {"en": "Next", "ja": "次へ", "zh": "下一步"},
    "participant.back": {"en": "Back", "ja": "戻る", "zh": "返回"},
    "participant.code_title": {"en": "Your resume code", "ja": "あなたの再開コード", "zh": "你的恢复码"},
    "participant.code_text": {
        "en": (
            "Write this code down now. It is the only way to continue your game later or to withdraw "
            "your data: it is not stored anywhere we could read it back, so nobody can look it up for you."
        ),
        "ja": "このコードを今すぐ書き留めてください。後で続きから遊ぶときも、データの削除を申し出るときも、このコードだけが頼りです。コードそのものは読み出せる形で保存されていないため、だれにも調べることができません。",
        "zh": "请现在就把这个码记下来。以后继续游戏或撤回你的数据，只能靠它：它没有以可读的形式保存在任何地方，所以谁也无法帮你查到。",
    },
    "participant.code_done": {
        "en": "I have written it down: start",
        "ja": "書き留めました。始める",
        "zh": "我已记下，开始",
    },
    "participant.resume_title": {
        "en": "Continue with your resume code",
        "ja": "再開コードで続きから遊ぶ",
        "zh": "用恢复码继续",
    },
    "participant.resume_text": {
        "en": "Type the code you were given when you started: eight letters and digits, like {example}.",
        "ja": "始めたときに表示されたコード（英数字8文字、例：{example}）を入力してください。",
        "zh": "请输入开始时拿到的码：八个字母和数字，例如 {example}。",
    },
    "participant.resume_go": {"en": "Continue", "ja": "続ける", "zh": "继续"},
    "participant.code_malformed": {
        "en": "That is not a resume code: a code is eight letters and digits, like {example} (never I, L, O, 0 or 1).",
        "ja": "再開コードの形になっていません。コードは {example} のような英数字8文字です（I・L・O・0・1 は使いません）。",
        "zh": "这不是恢复码：恢复码是八个字母和数字，例如 {example}（不含 I、L、O、0、1）。",
    },
    "participant.code_unknown": {
        "en": "This code does not open a game. Check it and try again.",
        "ja": "このコードでは続きを開けません。確認してもう一度入力してください。",
        "zh": "这个码打不开任何游戏。请检查后再试一次。",
    },
    "participant.code_wait": {
        "en": "Too many wrong codes. Please wait {seconds} seconds before trying again.",
        "ja": "間違ったコードが多すぎます。{seconds} 秒待ってからもう一度試してください。",
        "zh": "错误的码太多了。请等 {seconds} 秒后再试。",
    },
    "participant.store_busy": {
        "en": "Your answer could not be saved just now ({error}). Please try again.",
        "ja": "今は保存できませんでした（{error}）。もう一度お試しください。",
        "zh": "暂时无法保存（{error}）。请再试一次。",
    },
    "participant.closing_code": {
        "en": "Your resume code: {code}",
        "ja": "あなたの再開コード：{code}",
        "zh": "你的恢复码：{code}",
    },
    "participant.closing_keep": {
        "en": "Keep it: with this code you can ask for all your data to be deleted at any time.",
        "ja": "大切に保管してください。このコードがあれば、いつでもデータの削除を申し出ることができます。",
        "zh": "请妥善保管：凭这个码，你随时可以要求删除你的全部数据。",
    },
    "participant.survey_title": {
        "en": "A few last questions (each one optional)",
        "ja": "最後にいくつか質問です（どれも任意です）",
        "zh": "最后几个问题（都可以不答）",
    },
    "participant.age": {"en": "Your age", "ja": "年齢", "zh": "年龄"},
    "participant.naturalness": {
        "en": "How natural did the housemates feel? (1 = not at all, 5 = like real people)",
        "ja": "ハウスメイトはどのくらい自然に感じられましたか？（1＝まったく、5＝本物の人のよう）",
        "zh": "室友们给你的感觉有多自然？（1＝完全不自然，5＝像真人一样）",
    },
    "participant.comment": {
        "en": "Anything else you would like to tell us?",
        "ja": "ほかに伝えたいことがあれば書いてください。",
        "zh": "还有什么想告诉我们的吗？",
    },
    "participant.send": {"en": "Send my answers", "ja": "回答を送る", "zh": "提交回答"},
    "participant.no_answer": {"en": "(no answer)", "ja": "（回答しない）", "zh": "（不回答）"},
    "participant.age_undisclosed": {"en": "Prefer not to say", "ja": "答えたくない", "zh": "不愿透露"},
    "participant.comment_too_long": {
        "en": "Your comment is {count} characters long; please keep it to {limit}.",
        "ja": "コメントが{count}文字あります。{limit}文字以内にしてください。",
        "zh": "你的意见有{count}个字符，请控制在{limit}个以内。",
    },
    "participant.sent": {
        "en": "Thank you: your answers are saved.",
        "ja": "ありがとうございました。回答を保存しました。",
        "zh": "谢谢！你的回答已保存。",
    },
    # -- help -----------------------------------------------------------------------------------
    "help.title": {"en": "Help", "ja": "ヘルプ", "zh": "帮助"},
    "help.body": {
        "en": (
            "Chat with your four housemates over five days. Each day some of them ask you something: "
            "answer in your own words, as you really would.\n\n"
            "Enter  send your reply\n"
            "Ctrl+J  new line in your reply (pasting several lines also works)\n"
            "F1  this help\n"
            "F6  the evaluator (for researchers: evaluation runs and their results)\n"
            "Esc or Ctrl+Q  quit (asks first)\n\n"
            "Every reply is saved as soon as you send it. Quit whenever you like and choose "
            '"Continue a saved game" to pick up exactly where you left off.'
        ),
        "ja": (
            "五日間、四人のハウスメイトとおしゃべりします。毎日だれかが質問してくるので、"
            "ふだんの自分らしく、自分の言葉で答えてください。\n\n"
            "Enter  返事を送る\n"
            "Ctrl+J  返事の中で改行（複数行の貼り付けもできます）\n"
            "F1  このヘルプ\n"
            "F6  評価画面（研究者向け：評価の実行と結果）\n"
            "Esc または Ctrl+Q  終了（確認があります）\n\n"
            "返事は送った時点で保存されます。いつやめても、「続きから遊ぶ」で同じところから再開できます。"
        ),
        "zh": (
            "在五天里和四位室友聊天。每天都会有人问你一些事情，请像平时的自己一样，用自己的话回答。\n\n"
            "Enter  发送回复\n"
            "Ctrl+J  在回复里换行（也可以粘贴多行文字）\n"
            "F1  显示本帮助\n"
            "F6  评估界面（供研究人员使用：评估运行及结果）\n"
            "Esc 或 Ctrl+Q  退出（会先确认）\n\n"
            "每条回复发送后立即保存。随时可以退出，之后选择“继续存档”就能从原处接着玩。"
        ),
    },
    "help.body_participant": {
        "en": (
            "Chat with your four housemates over five days. Each day some of them ask you something: "
            "answer in your own words, as you really would.\n\n"
            "Enter  send your reply\n"
            "Ctrl+J  new line in your reply (pasting several lines also works)\n"
            "F1  this help\n"
            "Esc or Ctrl+Q  quit (asks first)\n\n"
            "Every reply is saved as soon as you send it. Quit whenever you like: to pick up exactly where "
            'you left off, choose "I have a resume code" and type your code.'
        ),
        "ja": (
            "五日間、四人のハウスメイトとおしゃべりします。毎日だれかが質問してくるので、"
            "ふだんの自分らしく、自分の言葉で答えてください。\n\n"
            "Enter  返事を送る\n"
            "Ctrl+J  返事の中で改行（複数行の貼り付けもできます）\n"
            "F1  このヘルプ\n"
            "Esc または Ctrl+Q  終了（確認があります）\n\n"
            "返事は送った時点で保存されます。いつやめても、「再開コードを持っている」を選んでコードを入力すれば、同じところから再開できます。"
        ),
        "zh": (
            "在五天里和四位室友聊天。每天都会有人问你一些事情，请像平时的自己一样，用自己的话回答。\n\n"
            "Enter  发送回复\n"
            "Ctrl+J  在回复里换行（也可以粘贴多行文字）\n"
            "F1  显示本帮助\n"
            "Esc 或 Ctrl+Q  退出（会先确认）\n\n"
            "每条回复发送后立即保存。随时可以退出，之后选择“我有恢复码”并输入你的码，就能从原处接着玩。"
        ),
    },
    "help.close": {"en": "Close", "ja": "閉じる", "zh": "关闭"},
    # -- quit confirmation ----------------------------------------------------------------------
    "quit.question": {
        "en": "Quit now? Every reply you sent is saved, and you can continue later.",
        "ja": "終了しますか？送った返事はすべて保存されていて、後で続きから遊べます。",
        "zh": "现在退出吗？已发送的回复都已保存，之后可以继续。",
    },
    "quit.question_participant": {
        "en": "Quit now? Every reply you sent is saved. To continue later, you need your resume code: {code}",
        "ja": "終了しますか？送った返事はすべて保存されています。続きから遊ぶには再開コードが必要です：{code}",
        "zh": "现在退出吗？已发送的回复都已保存。之后要继续，需要你的恢复码：{code}",
    },
    "quit.yes": {"en": "Quit", "ja": "終了する", "zh": "退出"},
    "quit.no": {"en": "Keep playing", "ja": "続ける", "zh": "继续玩"},
    # -- footer key descriptions ----------------------------------------------------------------
    "key.help": {"en": "Help", "ja": "ヘルプ", "zh": "帮助"},
    "key.quit": {"en": "Quit", "ja": "終了", "zh": "退出"},
    "key.back": {"en": "Back", "ja": "戻る", "zh": "返回"},
    "key.send": {"en": "Send", "ja": "送信", "zh": "发送"},
    "key.newline": {"en": "New line", "ja": "改行", "zh": "换行"},
    "key.next": {"en": "Next", "ja": "次へ", "zh": "下一步"},
    "key.retry": {"en": "Try again", "ja": "再試行", "zh": "重试"},
    "key.evaluator": {"en": "Evaluator", "ja": "評価", "zh": "评估"},
    # -- evaluator ------------------------------------------------------------------------------
    "eval.no_runs": {
        "en": "No evaluation runs in this database yet: press n to set one up, or run `sharehouse evaluate`.",
        "ja": "このデータベースにはまだ評価の実行がありません。n で新しく設定するか、`sharehouse evaluate` を実行してください。",
        "zh": "这个数据库里还没有评估运行：按 n 新建一个，或运行 `sharehouse evaluate`。",
    },
}


def t(key: str, lang: str, **values: object) -> str:
    """The string ``key`` in ``lang`` (English when the language is unknown), placeholders filled."""
    entry = CATALOGUE[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**values) if values else text


def is_key(text: str) -> bool:
    return text in CATALOGUE


def catalogue_problems() -> list[str]:
    """Keys missing a language, or whose languages disagree on placeholders (empty when all is well)."""
    problems: list[str] = []
    for key, entry in CATALOGUE.items():
        missing = [lang for lang in UI_LANGS if not entry.get(lang, "").strip()]
        if missing:
            problems.append(f"{key}: missing {', '.join(missing)}")
            continue
        fields = {
            lang: {name for _, name, _, _ in string.Formatter().parse(entry[lang]) if name}
            for lang in UI_LANGS
        }
        if len({frozenset(f) for f in fields.values()}) > 1:
            problems.append(f"{key}: placeholders differ between languages {fields}")
    return problems
