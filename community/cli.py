"""Domain commands of `xijin`: the database, the knowledge base, the map, statistics and tickets for staff.

`bot/cli.py` adds `run` and `chat` and is the console script; these commands need no Telegram or Rasa.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from community.database import get_database, utcnow
from community.settings import PROJECT_ROOT, get_settings


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from community.migrate import upgrade

    upgrade(get_settings().database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def cmd_knowledge_load(args: argparse.Namespace) -> int:
    from community.knowledge.loader import load
    from community.knowledge.schema import KnowledgeError

    try:
        report = load(get_database(), Path(args.dir or get_settings().knowledge_dir))
    except KnowledgeError as exc:
        print(f"knowledge not loaded: {exc}", file=sys.stderr)
        return 1
    print(report)
    return 0


def cmd_map_export(args: argparse.Namespace) -> int:
    from community.servicemap.export import export_geojson, render_map_png

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with get_database().session() as session:
        geojson = export_geojson(session)
        (out / "red-service-map.geojson").write_text(json.dumps(geojson, ensure_ascii=False, indent=1))
        png = render_map_png(session, out / "red-service-map.png")
    print(f"wrote {out / 'red-service-map.geojson'} and {png}")
    return 0


def stats_period(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `xijin stats`: --month [YYYY-MM] (a calendar month in the community's zone; the
    current one without a value), --from/--to (local dates, --to included), or the last --days."""
    from community.servicemap.hours import community_zone
    from community.volunteers.points import month_bounds, this_month

    if args.month is not None:
        if not args.month:
            return this_month(now)
        year, month = (int(part) for part in args.month.split("-"))
        return month_bounds(year, month)
    if args.from_ or args.to:
        zone = community_zone()
        start = (
            datetime.fromisoformat(args.from_).replace(tzinfo=zone)
            if args.from_
            else now - timedelta(days=args.days)
        )
        end = datetime.fromisoformat(args.to).replace(tzinfo=zone) + timedelta(days=1) if args.to else now
        return start.astimezone(UTC), end.astimezone(UTC)
    return now - timedelta(days=args.days), now


def cmd_stats(args: argparse.Namespace) -> int:
    from community.knowledge.schema import KnowledgeError
    from community.tickets.metrics import compute_metrics, format_metrics
    from community.volunteers.chart import write_charts
    from community.volunteers.indices import compute_indices
    from community.volunteers.report import format_indices
    from community.volunteers.rules import rules

    now = utcnow()
    try:
        start, end = stats_period(args, now)
    except ValueError:
        print("stats: --month takes YYYY-MM, --from and --to take YYYY-MM-DD", file=sys.stderr)
        return 2
    if end <= start:
        print("stats: the period ends before it starts", file=sys.stderr)
        return 2
    try:
        points_rules = rules()
    except KnowledgeError as exc:
        print(f"stats: {exc}", file=sys.stderr)
        return 1
    with get_database().session() as session:
        metrics = compute_metrics(session, start, end, grid_code=args.grid)
        print(format_metrics(metrics, args.language))
        report = compute_indices(session, points_rules, start, end, now=now)
    if args.grid:
        report.grids = [g for g in report.grids if g.code == args.grid]
    print()
    print(format_indices(report, args.language, community=not args.grid))
    for path in write_charts(report, Path(args.out)):
        print(f"wrote {path}")
    return 0


def cmd_tickets_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from community.servicemap.hours import local_time
    from community.tickets.models import Ticket

    with get_database().session() as session:
        query = select(Ticket).order_by(Ticket.created_at.desc()).limit(args.limit)
        if args.state:
            query = query.where(Ticket.state == args.state)
        for ticket in session.scalars(query):
            print(
                f"{ticket.ref}  {ticket.state:<10} L{ticket.escalation_level} "
                f"{ticket.category_code or '-':<15} {ticket.micro_grid_code or ticket.grid_code or '-':<8} "
                f"{local_time(ticket.created_at):%Y-%m-%d %H:%M} "
                f"{ticket.description[:40]}"
            )
    return 0


def cmd_tickets_show(args: argparse.Namespace) -> int:
    from community.servicemap.hours import local_time
    from community.tickets.models import Ticket
    from community.tickets.queries import get_ticket, ticket_events

    with get_database().session() as session:
        ticket = get_ticket(session, args.ref)
        if ticket is None:
            print(f"no ticket {args.ref}", file=sys.stderr)
            return 1
        for column in Ticket.__table__.columns:
            value = getattr(ticket, column.key)
            # Times in the community's zone (TIMEZONE), as the office reads them.
            shown = local_time(value).isoformat(" ", "minutes") if isinstance(value, datetime) else value
            print(f"{column.name:>22}: {shown}")
        print("events:")
        for event in ticket_events(session, ticket):
            print(
                f"  {local_time(event.at):%Y-%m-%d %H:%M:%S} {event.kind:<11} {event.from_state or '':>10} → "
                f"{event.to_state or '':<10} {event.actor_role:<16} {event.reason}"
            )
    return 0


def cmd_open311_key_add(args: argparse.Namespace) -> int:
    from community.open311.keys import add_client

    try:
        with get_database().session() as session:
            client, key = add_client(session, args.name, utcnow())
            print(f"client {client.id} ({client.name}): key {key}")
    except ValueError as exc:
        print(f"no key made: {exc}", file=sys.stderr)
        return 1
    print("The key is shown this once; only its hash is kept.", file=sys.stderr)
    return 0


def cmd_open311_key_list(args: argparse.Namespace) -> int:
    from community.open311.keys import list_clients

    with get_database().session() as session:
        for client in list_clients(session):
            state = f"revoked {client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "active"
            created = f"{client.created_at:%Y-%m-%d}"
            print(f"{client.id:>4}  {client.key_prefix}…  {created}  {state:<24} {client.name}")
    return 0


def cmd_open311_key_revoke(args: argparse.Namespace) -> int:
    from community.open311.keys import revoke_client

    with get_database().session() as session:
        client = revoke_client(session, args.id, utcnow())
        if client is None:
            print(f"no client {args.id}", file=sys.stderr)
            return 1
        print(f"client {client.id} ({client.name}) revoked")
    return 0


def cmd_projects_summary(args: argparse.Namespace) -> int:
    """The committee's weekly summary of projects (issue #17), printed in one language; nothing is sent."""
    from community.projects.summary import build, render

    with get_database().session() as session:
        print(render(session, build(session, utcnow()), args.language))
    return 0


def add_domain_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    up = db.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="heads")
    up.set_defaults(func=cmd_db_upgrade)

    knowledge = sub.add_parser("knowledge", help="the knowledge base").add_subparsers(
        dest="action", required=True
    )
    load = knowledge.add_parser("load", help="validate knowledge/*.yml and upsert it into the database")
    load.add_argument("--dir", default=None)
    load.set_defaults(func=cmd_knowledge_load)

    map_ = sub.add_parser("map", help="the red service map").add_subparsers(dest="action", required=True)
    export = map_.add_parser("export", help="write GeoJSON and a PNG picture")
    export.add_argument("--out", default=str(PROJECT_ROOT / "var" / "map"))
    export.set_defaults(func=cmd_map_export)

    stats = sub.add_parser(
        "stats", help="response, resolution and satisfaction rates; the 堡垒指数 and 先锋指数, with charts"
    )
    stats.add_argument("--days", type=int, default=30)
    stats.add_argument("--month", nargs="?", const="", default=None, metavar="YYYY-MM")
    stats.add_argument("--from", dest="from_", default=None, metavar="YYYY-MM-DD")
    stats.add_argument("--to", default=None, metavar="YYYY-MM-DD")
    stats.add_argument("--out", default=str(PROJECT_ROOT / "var" / "stats"), help="folder of the chart PNGs")
    stats.add_argument("--grid", default=None)
    stats.add_argument("--language", default="zh-Hans")
    stats.set_defaults(func=cmd_stats)

    tickets = sub.add_parser("tickets", help="tickets, for staff at a terminal").add_subparsers(
        dest="action", required=True
    )
    listing = tickets.add_parser("list")
    listing.add_argument("--state", default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_tickets_list)
    show = tickets.add_parser("show")
    show.add_argument("ref")
    show.set_defaults(func=cmd_tickets_show)

    open311 = sub.add_parser("open311", help="Open311 clients and their API keys").add_subparsers(
        dest="action", required=True
    )
    key = open311.add_parser("key", help="API keys").add_subparsers(dest="key_action", required=True)
    key_add = key.add_parser("add", help="a new client; prints its key once")
    key_add.add_argument("name")
    key_add.set_defaults(func=cmd_open311_key_add)
    key.add_parser("list", help="clients, key prefixes, state").set_defaults(func=cmd_open311_key_list)
    key_revoke = key.add_parser("revoke", help="revoke a client's key")
    key_revoke.add_argument("id", type=int)
    key_revoke.set_defaults(func=cmd_open311_key_revoke)

    # Needs as projects (issue #17): the weekly summary the committee receives, printed.
    projects = sub.add_parser("projects", help="community projects").add_subparsers(
        dest="action", required=True
    )
    summary = projects.add_parser(
        "summary", help="print the weekly summary of open/claimed/completed projects"
    )
    summary.add_argument("--language", default="zh-Hans", choices=["zh-Hans", "zh-Hant", "en", "ja", "ko"])
    summary.set_defaults(func=cmd_projects_summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xijin")
    add_domain_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
