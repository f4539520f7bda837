"""The pages' words: Chinese as written in the templates, English from this table.

The templates write every label in Chinese inside ``_("…")``; with ``taizhang serve --lang
en`` (the language setting of ``taizhang bulletin``) ``_`` looks each up here. Fragments
around values (``按账本位置`` N ``计算 · 链头哈希``) are translated one by one. A test checks
that every label the templates use has its English here.
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("zh", "en")

EN: dict[str, str] = {
    # layout and navigation
    "台账": "Ledger", "时间线": "Timeline", "每月评比": "Monthly ranking",
    "长效机制指标": "Metrics", "督查通报": "Bulletins", "审计": "Audit", "退出": "Log out",
    "主导航": "Main navigation", "账本当前位置": "Ledger position", "链头哈希": "head hash",
    "错误": "Error", "返回台账": "Back to the ledger", "分页": "Pages",
    "上一页": "Previous page", "下一页": "Next page", "第 {n}/{m} 页": "page {n} of {m}",
    "筛选": "Filter", "清除": "Clear", "全部": "All", "查看": "Show", "选择": "Choose",
    "无": "none", "、": ", ", "（": " (", "）": ")", "：": ": ", "天": "days",
    # the board
    "责任单位（含下级）": "Unit (with those below)", "单位（含下级）": "Unit (with those below)", "状态": "State", "问题类别": "Category",
    "来源": "Source", "几天内到期": "Due within (days)", "天数": "days",
    "交办月份": "Month assigned", "排序": "Sort by",
    "截至（记录时间）": "As of (recorded time)", "只看超期": "Overdue only",
    "只看未销号": "Not closed only", "下载 CSV（全部 {n} 条）": "Download CSV (all {n})", "下载 Excel": "Download Excel",
    "共 {n} 项任务": "{n} tasks", "任务": "Task", "责任单位": "Unit", "类别": "Category",
    "地点": "Location", "整改期限": "Deadline", "超期天数": "Days overdue", "返工": "Rework",
    "最后操作": "Last action", "时间": "At", "没有符合条件的任务。": "No task matches.",
    "任务编号": "task number", "超期天数（最多在前）": "days overdue (most first)",
    "交办时间": "when assigned",
    # states and sources (domain/task.py)
    "已交办": "assigned", "已签收": "acknowledged", "整改中": "rectifying",
    "待复查": "reported", "已验收": "verified", "已销号": "closed",
    "指标分解": "decomposition", "巡查发现": "inspection", "群众反映": "complaint",
    "媒体曝光": "media", "上级暗访": "unannounced",
    # levels
    "社区": "communities", "街道": "subdistricts", "部门": "departments",
    "物业": "property companies",
    # a task
    "问题描述": "Description", "超期": "overdue", "返工次数": "Reworks",
    "状态所属日期": "State on", "· 按": "· as recorded by", "时账本的记录": "",
    "· 按当前记录": "· as recorded now", "回看": "Look back", "当前": "Now",
    "某日状态（发生时间）": "State on a day (valid time)", "全部经过": "Full history",
    "发生时间": "Happened", "记录时间": "Recorded", "迟录": "Late", "操作人": "Actor",
    "账户": "Account", "事件": "Event", "内容": "What", "理由": "Reason", "证据": "Evidence",
    "打开": "Open", "（文件未保存）": " (file not kept)",
    "更正": "Correction", "代录": "entered by", "被 #{v} 更正": "corrected by #{v}",
    # the timeline
    "审计时间线": "Audit timeline", "按账本位置": "Computed at ledger position",
    "计算 · 链头哈希": "· head hash", "· 截至记录时间": "· as of recorded time",
    "发生自": "Happened from", "发生至": "Happened to", "单位": "Unit", "回放": "Replay",
    "位置": "Position", "对象": "Subject", "没有符合条件的事件。": "No event matches.",
    "从头": "From the start",
    # the ranking
    "下属": "units below", "评分细则第": "Scoring rules version", "版《": "(",
    "》 ·": ") ·", "已发布": "published", "发布于账本位置": "published at ledger position",
    "（链头": " (head", "）；下表按当前记录重算，": "); recomputed below from the ledger now, ",
    "查看重算将作的修订": "see what a recomputation would revise", "未发布": "not published",
    "按台账当前记录计算": "computed from the ledger as it stands", "层级": "Level",
    "选择月份": "Choose a month", "月份": "Month", "上级单位": "Parent unit",
    "已发布的月份：": "Published months: ", "名次": "Rank", "得分": "Score",
    "升降": "Change", "Δ得分": "Δ score", "红黑榜": "Red and black lists",
    "扣分与加分": "Deductions and rates", "指标明细": "Figures", "红榜": "red list",
    "黑榜": "black list", "明细": "figures",
    "本月该层级没有参评单位。": "No unit of this level is ranked this month.",
    "近12个月走势": "The last 12 months",
    "各层级平均得分与按期整改率（近12个月）":
        "Mean score and on-time rate by level, the last 12 months",
    # revisions
    "修订": "revisions", "评比：重算将作的修订": "ranking: what a recomputation would revise",
    "）；现在重算，": "); recomputed now, ", "行排名会变化，此后录入的":
        "ranking lines would change; ", "个事件与本月有关。":
        "events entered since bear on the month.",
    "发布得分": "Published score", "发布名次": "Published rank", "现得分": "Score now",
    "现名次": "Rank now", "发布榜": "Published list", "现榜": "List now",
    "变化的指标": "Figures changed",
    "重算不会改变已发布的排名。": "A recomputation would not change the published ranking.",
    "原因": "Why",
    # metrics
    "点击数值查看构成该数值的任务与事件（metrics explain）。":
        "Follow a figure to the tasks and events behind it (metrics explain).",
    "没有单位。": "No unit.", "· 应巡查": "· required", "· 共": "·", "项 ·": "items ·",
    "返回指标": "back to the metrics", "任务/巡查": "Task/visit", "计为": "Counts as",
    "说明": "Detail", "没有构成项。": "Nothing makes up this figure.",
    # bulletins
    "（中文）": " (Chinese)", "（按发布时冻结的结果）": " (the results frozen when published)",
    "（未发布：按当前记录计算）": " (not published: computed from the ledger as it stands)",
    "）：": "):",
    # audit
    "审计状态": "Audit status", "链头": "Head", "上次校验": "Last verification",
    "本服务启动后尚未校验": "none since this server started", "出错": "error",
    "正在校验…": "verifying…", "查看进度": "progress", "完整": "unbroken",
    "个事件，链头": "events, head", "断链": "broken",
    "在服务器上校验哈希链": "Verify the hash chain on the server",
    "最近的检查点": "Last checkpoints", "检查点": "Checkpoint", "哈希": "Hash",
    "记录人": "By", "签名密钥": "Signing key", "备注": "Note",
    "账本中尚未记录检查点。": "No checkpoint is recorded in the ledger.",
    "校验": "Verification", "哈希链校验": "Hash chain verification", "个事件": "events",
    "正在校验……（页面每秒刷新）": "Verifying… (the page refreshes every second)",
    "校验出错：": "The verification failed: ",
    "哈希链自位置 1 起未断：": "The hash chain is unbroken from position 1:",
    "；账本内": "; in the ledger,", "个检查点相符。": "checkpoints match.",
    "返回审计状态": "Back to the audit status",
    # the PostgreSQL login
    "登录": "Log in", "数据库角色": "Database role", "密码": "Password",
    "用您的 PostgreSQL 登录角色和密码登录：由数据库核验，台账不保存密码。":
        "Log in with your PostgreSQL login role and password: the database checks them; "
        "taizhang stores no password.",
    # messages from the server
    "已退出": "Logged out", "您已退出登录。": "You have logged out.",
    "请先用服务器控制台上打印的登录链接登录。":
        "Log in first with the login link printed on the server's console.",
    "登录已过期或会话无效：请用服务器控制台上的登录链接重新登录。":
        "The session has expired or is not valid: log in again with the link on the "
        "server's console.",
    "表单的 CSRF 令牌缺失或不符：请刷新页面后重试。":
        "The form's CSRF token is missing or wrong: reload the page and try again.",
    "登录链接无效或已使用：每个链接只能使用一次，请使用服务器控制台上打印的最新链接。":
        "The login link is not valid or already used: each works once; use the latest "
        "one printed on the server's console.",
    "服务器内部错误（已记录在服务器日志中）。":
        "Internal server error (written to the server's log).",
    "账本存储暂时无法读取：": "The ledger's store cannot be read now: ",
}


def translator(lang: str) -> Callable[[str], str]:
    """``_`` for the templates: the text itself in Chinese, its English from :data:`EN`."""
    if lang == "en":
        return lambda text: EN.get(text, text)
    return lambda text: text
