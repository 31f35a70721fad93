"""Command menus: one per language for everyone, and a staff menu scoped to each staff member's chat."""

from __future__ import annotations

import logging

from sqlalchemy import select
from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from community.database import Database
from community.people.models import Person, PersonRole, Role

logger = logging.getLogger(__name__)

# Telegram's language_code values for our curated languages (it has no separate code for Traditional).
TELEGRAM_LANGUAGES = {"zh-Hans": "zh", "en": "en", "ja": "ja", "ko": "ko"}

PUBLIC = {
    "start": {"zh-Hans": "开始", "en": "Start", "ja": "はじめる", "ko": "시작"},
    "help": {"zh-Hans": "我能做什么", "en": "What I can do", "ja": "できること", "ko": "도움말"},
    "map": {"zh-Hans": "红色服务地图", "en": "Red service map", "ja": "サービスマップ", "ko": "서비스 지도"},
    "report": {"zh-Hans": "报告问题", "en": "Report a problem", "ja": "困りごとを報告", "ko": "불편 신고"},
    "mytickets": {"zh-Hans": "我的报事", "en": "My reports", "ja": "自分の報告", "ko": "내 신고"},
    "language": {"zh-Hans": "换语言", "en": "Change language", "ja": "言語を変える", "ko": "언어 변경"},
    "cancel": {"zh-Hans": "取消", "en": "Cancel", "ja": "キャンセル", "ko": "취소"},
    "subscribe": {
        "zh-Hans": "订阅片区通知",
        "en": "Area announcements",
        "ja": "地区のお知らせ",
        "ko": "구역 공지 받기",
    },
    "unsubscribe": {
        "zh-Hans": "退订通知",
        "en": "Stop announcements",
        "ja": "お知らせ停止",
        "ko": "공지 그만 받기",
    },
    # Service items at the micro-grid stations (bot/telegram/handlers/bookings.py).
    "book": {
        "zh-Hans": "预约驿站服务",
        "en": "Book a station service",
        "ja": "サービスを予約",
        "ko": "서비스 예약",
    },
    "bookings": {"zh-Hans": "我的预约", "en": "My bookings", "ja": "自分の予約", "ko": "내 예약"},
    "forget": {
        "zh-Hans": "删除保存的电话",
        "en": "Delete my saved phone",
        "ja": "保存した電話番号を削除",
        "ko": "저장된 번호 삭제",
    },
    # 有事好商量 (issue #17): a resident raises a matter.
    "matter": {"zh-Hans": "有事好商量", "en": "Raise a matter", "ja": "議題を出す", "ko": "안건 제안"},
}
STAFF = {
    "tasks": {"zh-Hans": "我的任务", "en": "My tasks", "ja": "担当タスク", "ko": "내 업무"},
    "duty": {"zh-Hans": "值班 on/off", "en": "Duty on/off", "ja": "当番 on/off", "ko": "근무 on/off"},
    "stats": {"zh-Hans": "办理统计", "en": "Statistics", "ja": "統計", "ko": "통계"},
    "points": {"zh-Hans": "我的积分", "en": "My points", "ja": "ポイント", "ko": "내 포인트"},
    "announce": {
        "zh-Hans": "发布通知（服务台）",
        "en": "Announce (desk)",
        "ja": "お知らせ送信（窓口）",
        "ko": "공지 보내기(데스크)",
    },
    "announcements": {
        "zh-Hans": "通知发送结果",
        "en": "Announcement reports",
        "ja": "お知らせの結果",
        "ko": "공지 결과",
    },
    "me": {"zh-Hans": "我的资料", "en": "My profile", "ja": "プロフィール", "ko": "내 프로필"},
    "invite": {"zh-Hans": "邀请志愿者", "en": "Invite", "ja": "招待する", "ko": "초대하기"},
    "volunteer": {"zh-Hans": "管理志愿者", "en": "Volunteers", "ja": "ボランティア", "ko": "자원봉사자"},
    "team": {"zh-Hans": "志愿团队", "en": "Teams", "ja": "チーム", "ko": "팀"},
    "dashboard": {"zh-Hans": "办公台登录", "en": "Dashboard login", "ja": "ダッシュボード", "ko": "대시보드"},
    # 有事好商量 (issue #17): the desk's list of open matters.
    "matters": {
        "zh-Hans": "议事事项（服务台）",
        "en": "Matters (desk)",
        "ja": "議題（窓口）",
        "ko": "안건(데스크)",
    },
    # Needs as projects (issue #17).
    "project": {"zh-Hans": "便民服务项目", "en": "Projects", "ja": "プロジェクト", "ko": "프로젝트"},
    "partner": {"zh-Hans": "共建单位", "en": "Partners", "ja": "連携団体", "ko": "협력 단체"},
}


def commands(table: dict[str, dict[str, str]], language: str) -> list[BotCommand]:
    return [BotCommand(name, texts.get(language, texts["en"])) for name, texts in table.items()]


async def set_public_menus(bot: Bot) -> None:
    await bot.set_my_commands(commands(PUBLIC, "en"), scope=BotCommandScopeDefault())
    for ours, code in TELEGRAM_LANGUAGES.items():
        await bot.set_my_commands(commands(PUBLIC, ours), scope=BotCommandScopeDefault(), language_code=code)


def staff_chats(database: Database) -> list[tuple[int, str]]:
    staff_roles = [r.value for r in Role if r.is_staff]
    with database.session() as session:
        rows = session.execute(
            select(Person.chat_id, Person.preferred_language)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(PersonRole.role.in_(staff_roles), Person.chat_id.is_not(None))
            .distinct()
        ).all()
    return [(int(chat), lang) for chat, lang in rows if str(chat).lstrip("-").isdigit()]


async def set_staff_menu(bot: Bot, chat_id: int, language: str) -> None:
    """Public commands plus the staff ones, only in this staff member's chat."""
    lang = language if language in PUBLIC["start"] else "en"
    await bot.set_my_commands(
        commands(PUBLIC, lang) + commands(STAFF, lang), scope=BotCommandScopeChat(chat_id)
    )


async def set_staff_menus(bot: Bot, database: Database) -> None:
    for chat_id, language in staff_chats(database):
        try:
            await set_staff_menu(bot, chat_id, language)
        except TelegramError as exc:  # a chat that never started the bot: its menu comes when it does
            logger.info("no staff menu for chat %s: %s", chat_id, exc)
