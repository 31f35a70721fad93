"""The Telegram Application: all wiring in one place (handlers, jobs, menus, error handler)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.pipeline import Assistant
from bot.telegram import dedupe, heartbeat, jobs, menus
from bot.telegram.context import private_chats_only
from bot.telegram.handlers import (
    announce,
    bookings,
    buttons,
    chat,
    commands,
    enrol,
    errors,
    extension,
    matters,
    partners,
    privacy,
    projects,
    rating,
    staff,
    subscribe,
    thread,
    volunteers,
)
from bot.telegram.handlers import points as points_handlers
from bot.telegram.handlers.dashboard import dashboard as dashboard_command
from bot.telegram.ordering import ChatOrderedUpdateProcessor
from bot.telegram.ratelimit import ChatRateLimiter
from bot.telegram.render import PayloadStore
from community.people.teams import team_member_ids
from community.settings import Settings

logger = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    assistant: Assistant,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool | None = None,
    run_jobs: bool = True,
) -> Application:
    """`request` replaces the HTTP layer (tests record Bot API calls with it); the base URL is a setting, so a
    local Bot API server works as well."""
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .post_init(_post_init)
        # Many chats at once, each chat's updates in order (bot/telegram/ordering.py).
        .concurrent_updates(ChatOrderedUpdateProcessor())
    )
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    if settings.telegram_rate_limiter if rate_limiter is None else rate_limiter:
        # Per chat: a 429 for one chat holds that chat only (bot/telegram/ratelimit.py).
        builder = builder.rate_limiter(ChatRateLimiter(max_retries=2))
    application = builder.build()
    application.bot_data["assistant"] = assistant
    application.bot_data["payloads"] = PayloadStore(assistant.database)
    application.bot_data["settings"] = settings  # the web's public URL for links (/start point_<code>)
    # The team leaderboard of /points (bot/telegram/handlers/points.py) looks team members up with this.
    application.bot_data["team_members"] = team_member_ids
    add_handlers(application)
    if run_jobs and application.job_queue is not None:
        application.job_queue.run_repeating(
            jobs.relay_job, interval=settings.outbox_interval_seconds, first=1
        )
        application.job_queue.run_repeating(jobs.sweep_job, interval=settings.sweep_interval_seconds, first=5)
        # Finished announcements: their final counts and the report to the desk.
        application.job_queue.run_repeating(announce.settle_job, interval=5, first=5)
        application.job_queue.run_repeating(jobs.prune_job, interval=24 * 3600, first=60)
        # Bookings at the stations: sessions ahead, day-before reminders, no-shows (community/bookings).
        application.job_queue.run_repeating(bookings.bookings_job, interval=300, first=30)
        heartbeat.schedule(application)  # the liveness signal compose checks
        # Needs as projects (issue #17): the committee's weekly summary, due Monday 09:00, asked hourly.
        application.job_queue.run_repeating(projects.weekly_summary_job, interval=3600, first=120)
    return application


def add_handlers(application: Application) -> None:
    # Group -2 runs first: an update from a group or channel stops here, with a polite answer at most.
    application.add_handler(TypeHandler(Update, private_chats_only), group=-2)
    # Group -1 next: a repeated update stops here.
    application.add_handler(TypeHandler(Update, dedupe.drop_repeated_updates), group=-1)
    # Group 1 runs last, unless a handler failed (the error handler stops the update): handled, at least once.
    application.add_handler(TypeHandler(Update, dedupe.mark_update_handled), group=1)

    application.add_handler(CallbackQueryHandler(staff.start_resolve, pattern=r"^tk:res:"))
    # Service items at the micro-grid stations (community/bookings): /book, /bookings, their bk: buttons; the
    # check-in QR code is a deep link (/start ci_<token>, handlers/commands.py).
    application.add_handler(CommandHandler("book", bookings.book_command))
    application.add_handler(CommandHandler("bookings", bookings.bookings_command))
    application.add_handler(CallbackQueryHandler(bookings.on_button, pattern=r"^bk:"))
    application.add_handler(CommandHandler("start", commands.start))
    application.add_handler(CommandHandler("help", commands.help_command))
    application.add_handler(CommandHandler("map", commands.map_command))
    application.add_handler(CommandHandler("report", commands.report))
    application.add_handler(CommandHandler("mytickets", commands.mytickets))
    application.add_handler(CommandHandler("language", commands.language))
    application.add_handler(CommandHandler("cancel", commands.cancel))
    application.add_handler(CommandHandler("tasks", staff.tasks))
    application.add_handler(CommandHandler("duty", staff.duty))
    # /stats: the hotline rates and both indices with a chart per grid (bot/telegram/handlers/points.py).
    application.add_handler(CommandHandler("stats", points_handlers.stats))
    application.add_handler(CommandHandler(["points", "leaderboard"], points_handlers.points))
    application.add_handler(CommandHandler("bonus", points_handlers.bonus))
    # Outreach: the remembered phone (/forget), area subscriptions and the desk's announcements.
    application.add_handler(CommandHandler("forget", privacy.forget))
    application.add_handler(CommandHandler("subscribe", subscribe.subscribe))
    application.add_handler(CommandHandler("unsubscribe", subscribe.unsubscribe))
    application.add_handler(CallbackQueryHandler(subscribe.on_button, pattern=r"^sub:"))
    application.add_handler(CommandHandler("announce", announce.announce))
    application.add_handler(CommandHandler("announcements", announce.list_announcements))
    application.add_handler(CallbackQueryHandler(announce.on_button, pattern=r"^an:"))
    # Enrolment, role changes, the volunteer's own profile, teams (issue #14).
    application.add_handler(CommandHandler("invite", enrol.invite))
    application.add_handler(CommandHandler("volunteer", volunteers.volunteer))
    application.add_handler(CommandHandler(["me", "profile"], volunteers.me))
    application.add_handler(CommandHandler("team", volunteers.team))
    application.add_handler(CallbackQueryHandler(enrol.on_invite_button, pattern=r"^en:[rg]:"))
    application.add_handler(CallbackQueryHandler(enrol.on_join_button, pattern=r"^en:(ok:|no$)"))
    application.add_handler(CommandHandler("dashboard", dashboard_command))  # the office's one-time link
    # 有事好商量 (issue #17): /matter raises a matter, /matters is the desk's list, mt: buttons.
    application.add_handler(CommandHandler("matter", matters.matter))
    application.add_handler(CommandHandler("matters", matters.list_matters))
    application.add_handler(CallbackQueryHandler(matters.on_button, pattern=r"^mt:"))
    # Needs as projects (便民服务联认, issue #17): the desk's /project and /partner, claims and notes.
    application.add_handler(CommandHandler("project", projects.project))
    application.add_handler(CommandHandler("partner", partners.partner))
    application.add_handler(CallbackQueryHandler(projects.on_button, pattern=r"^pj:"))

    application.add_handler(CallbackQueryHandler(staff.on_task_button, pattern=r"^tk:(acc|dec|esc):"))
    application.add_handler(CallbackQueryHandler(rating.on_rating, pattern=r"^rt:"))
    application.add_handler(CallbackQueryHandler(thread.on_button, pattern=r"^th:"))  # ticket conversation
    application.add_handler(CallbackQueryHandler(extension.on_extension_button, pattern=r"^xt:"))
    application.add_handler(CallbackQueryHandler(buttons.on_payload_button, pattern=r"^[rk]:"))

    application.add_handler(MessageHandler(filters.LOCATION, chat.on_location))
    application.add_handler(MessageHandler(filters.PHOTO, chat.on_photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, chat.on_text))
    application.add_error_handler(errors.on_error)


async def _post_init(application: Application) -> None:
    assistant: Assistant = application.bot_data["assistant"]
    try:
        await menus.set_public_menus(application.bot)
        await menus.set_staff_menus(application.bot, assistant.database)
    except Exception:
        logger.exception("could not set the command menus")


def run_polling(application: Application) -> None:
    application.run_polling(allowed_updates=Update.ALL_TYPES)


WEBHOOK_PATH = "telegram"


def webhook_options(settings: Settings) -> dict[str, Any]:
    """How the webhook listens and what Telegram is told (the tests start PTB's webhook server with these).

    Telegram sends the secret token in a header on every call; PTB answers 403 to calls without it.
    """
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not secret:
        raise SystemExit("TELEGRAM_WEBHOOK_SECRET must be set to run a webhook")
    if not settings.telegram_webhook_url:
        raise SystemExit("TELEGRAM_WEBHOOK_URL must be set to run a webhook")
    return {
        "listen": settings.telegram_webhook_listen,
        "port": settings.telegram_webhook_port,
        "url_path": WEBHOOK_PATH,
        "webhook_url": settings.telegram_webhook_url.rstrip("/") + "/" + WEBHOOK_PATH,
        "secret_token": secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def run_webhook(application: Application, settings: Settings) -> None:
    application.run_webhook(**webhook_options(settings))
