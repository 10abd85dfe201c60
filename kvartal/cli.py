"""The `kvartal` command (CONTRACT §6).

Exit status: 0 published (or already published with identical content), 2 validation
errors blocked publication, 1 any other failure. `validate` runs without Prefect: an
operator checking a correction should not wait for a server to start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from kvartal.config import EXAMPLE_INBOX, EXAMPLE_QUARTER, SettingsError, settings

EXIT_OK, EXIT_FAILED, EXIT_BLOCKED = 0, 1, 2


def _offline_defaults() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage errors exit 1: status 2 means validation errors in this command."""
        self.print_usage(sys.stderr)
        print(f"kvartal: {message}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kvartal", description="Kvartalsvis status på aftalte mål.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("run", "saml, valider, beregn, dan og udgiv et kvartal"),
        ("validate", "saml og valider et kvartal; udgiv intet"),
    ):
        c = sub.add_parser(name, help=helptext)
        c.add_argument(
            "--quarter",
            help="fx 2009Q3 (standard: eksempelkvartalet, eller "
            "kvartalet før i dag når --inbox er givet)",
        )
        c.add_argument("--inbox", help="mappe eller s3://bucket/prefix")
        if name == "run":
            c.add_argument("--publish-to", help="modtagernes mappe eller s3://…")
        c.add_argument(
            "--review-to", help="operatørernes mappe eller s3://… til validation.html/.json"
        )
    for name, helptext in (
        ("collection", "hvem har afleveret hvad til et kvartal (indsamling.json/.html)"),
        ("check", "kontrollér nye filer i indbakken og svar centrene (én gang)"),
        ("remind", "send de påmindelser, der skal ud på en dag"),
    ):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("--quarter", help="fx 2009Q3 (standard: kvartalet før i dag)")
        c.add_argument("--inbox", help="mappe eller s3://bucket/prefix")
        c.add_argument("--review-to", help="operatørernes mappe eller s3://…")
        if name == "remind":
            c.add_argument("--day", help="dagen, fx 2009-09-28 (standard: i dag, dansk tid)")
    a = sub.add_parser("run-all", help="kør alle indbakker i et register for et kvartal")
    a.add_argument("--quarter", help="fx 2014Q3 (standard: kvartalet før i dag)")
    a.add_argument("--register", required=True, help="registret over indbakker (TOML)")
    b = sub.add_parser("backfill", help="udgiv hvert kvartal fra --from til --to, ét ad gangen")
    b.add_argument("--from", dest="first", required=True, help="første kvartal, fx 2009Q1")
    b.add_argument("--to", dest="last", required=True, help="sidste kvartal, fx 2009Q4")
    b.add_argument("--inbox", required=True, help="mappe eller s3://bucket/prefix")
    b.add_argument("--publish-to", required=True, help="modtagernes mappe eller s3://…")
    b.add_argument("--review-to", help="operatørernes mappe eller s3://… til validation.html/.json")
    d = sub.add_parser(
        "deploy", help="registrér de planlagte kørsler hos Prefect-serveren ved PREFECT_API_URL"
    )
    d.add_argument(
        "--work-pool",
        help="den work pool, som workerne henter kørslerne fra "
        "(standard: KVARTAL_WORK_POOL, ellers 'kvartal')",
    )
    d.add_argument(
        "--register",
        help="registrér i stedet registrets kvartalsvise kørsel af alle dets indbakker (TOML)",
    )
    sub.add_parser("serve", help="registrér de planlagte kørsler og afvikl dem (bliver kørende)")
    return p


def _inbox_and_quarter(args: argparse.Namespace) -> tuple[str, str]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kvartal.quarters import Quarter

    inbox = args.inbox or ("inbox" in settings().model_fields_set and settings().inbox)
    if not inbox:
        return str(EXAMPLE_INBOX), args.quarter or EXAMPLE_QUARTER
    if args.quarter:
        return inbox, args.quarter
    now = datetime.now(ZoneInfo(settings().timezone))
    return inbox, str(Quarter.before(now))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings()  # every setting checked before anything starts
    except SettingsError as exc:
        print(f"kvartal: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "run":
            return _run(args)
        if args.command == "run-all":
            return _run_all(args)
        if args.command in ("collection", "check", "remind"):
            from kvartal.collection.commands import run_command

            inbox, quarter = _inbox_and_quarter(args)
            return run_command(args, inbox, quarter)
        if args.command == "backfill":
            return _backfill(args)
        if args.command == "deploy":
            if args.register:
                return _deploy_register(args)
            return _deploy(args)
        return _serve()
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # the command's promise: a clear message and exit 1
        print(f"kvartal: fejl: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _validate(args: argparse.Namespace) -> int:
    from kvartal import pipeline
    from kvartal.links import ReviewLinks
    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage

    inbox, quarter_text = _inbox_and_quarter(args)
    quarter = Quarter.parse(quarter_text)
    inbox_storage = open_storage(inbox)
    checked = pipeline.check(inbox_storage, quarter, settings().read_limits())
    where = pipeline.write_review(
        checked,
        open_storage(args.review_to or settings().review_to),
        ReviewLinks.of(settings()),
        (inbox_storage, settings().collection()),
    )
    result = checked.validation
    for p in result.problems:
        print(p.line())
    print(
        f"{quarter}: {len(result.blocking)} fejl, {len(result.warnings)} advarsler, "
        f"{len(result.waived)} godkendte afvigelser. Rapport: {where}",
        file=sys.stderr,
    )
    return EXIT_BLOCKED if result.blocking else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    _offline_defaults()
    from kvartal.ephemeral import prefect_api
    from kvartal.storage import check_locations

    inbox, quarter = _inbox_and_quarter(args)
    check_locations(
        args.publish_to or settings().publish_to, args.review_to or settings().review_to
    )  # before any server starts
    with prefect_api(warm_up=["flows.quarterly", "great_expectations", "weasyprint"]):
        return _run_flow(args, inbox, quarter)


def _run_flow(args: argparse.Namespace, inbox: str, quarter: str) -> int:
    from flows.quarterly import QuarterBlocked, quarterly_report

    state = quarterly_report(
        quarter=quarter,
        inbox=inbox,
        publish_to=args.publish_to,
        review_to=args.review_to,
        interactive=True,
        return_state=True,
    )
    if state.is_completed():
        outcome: dict[str, Any] = state.result()  # type: ignore[assignment]
        what = "udgivet" if outcome["published"] else "allerede udgivet med samme indhold"
        print(f"{outcome['quarter']} version {outcome['version']} {what}: {outcome['report']}")
        if outcome["warnings"]:
            print(f"{outcome['warnings']} advarsler; se {outcome['review']}")
        return EXIT_OK
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, QuarterBlocked):
        for p in exc.problems:
            print(p.line())
        print(f"kvartal: {exc}", file=sys.stderr)
        return EXIT_BLOCKED
    print(f"kvartal: kørslen fejlede: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _run_all(args: argparse.Namespace) -> int:
    _offline_defaults()
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kvartal.quarters import Quarter
    from kvartal.register import RegisterDefaults, load_register

    # a bad register stops before any server starts
    register = load_register(args.register, RegisterDefaults.of(settings()))
    quarter = str(
        Quarter.parse(args.quarter)
        if args.quarter
        else Quarter.before(datetime.now(ZoneInfo(settings().timezone)))
    )
    from kvartal.ephemeral import prefect_api

    with prefect_api(warm_up=["flows.quarterly_reports", "great_expectations", "weasyprint"]):
        return _run_all_flow(register.to_dict(), quarter)


def _run_all_flow(register: dict[str, object], quarter: str) -> int:
    from flows.quarterly_reports import SummaryNotWritten, quarterly_reports

    inboxes = register["inboxes"]
    assert isinstance(inboxes, list)
    parent = quarterly_reports.with_options(flow_run_name=f"{quarter}: {len(inboxes)} indbakker")
    state = parent(inbox_register=register, quarter=quarter, return_state=True)
    return _lines_and_exit(state, SummaryNotWritten)


def _lines_and_exit(state: Any, partial: type[Exception] | None = None) -> int:
    """run-all's and backfill's ending: one line per inbox or quarter and the exit rule
    (`kvartal.summary`); a parent that failed exits 1, after the lines it did have
    (`partial`: the failure that carries them)."""
    from kvartal.summary import InboxOutcome, exit_status

    if state.is_completed():
        outcomes = [InboxOutcome.from_dict(o) for o in state.result()]
        for o in outcomes:
            print(o.line())
        return exit_status(outcomes)
    exc = state.result(raise_on_failure=False)
    if partial is not None and isinstance(exc, partial):
        for o in exc.outcomes:  # type: ignore[attr-defined]
            print(o.line())
    print(f"kvartal: kørslen fejlede: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _backfill(args: argparse.Namespace) -> int:
    """CONTRACT §10: one parent flow run, a quarterly child per quarter; run-all's lines."""
    _offline_defaults()
    from kvartal.quarters import Quarter
    from kvartal.storage import check_locations

    review_to = args.review_to or settings().review_to
    first, last = Quarter.parse(args.first), Quarter.parse(args.last)
    if last < first:
        raise ValueError(f"--from {first} ligger efter --to {last}")
    check_locations(args.publish_to, review_to)  # before any server starts
    from kvartal.ephemeral import prefect_api

    with prefect_api(warm_up=["flows.backfill", "great_expectations", "weasyprint"]):
        from flows.backfill import backfill

        parent = backfill.with_options(flow_run_name=f"Tilbageudfyldning {first}–{last}")
        state = parent(
            first=str(first),
            last=str(last),
            inbox=args.inbox,
            publish_to=args.publish_to,
            review_to=review_to,
            return_state=True,
        )
        return _lines_and_exit(state)


def _deploy_register(args: argparse.Namespace) -> int:
    _offline_defaults()
    from deployments.register import deploy_register
    from kvartal.register import RegisterDefaults, load_register

    for line in deploy_register(
        load_register(args.register, RegisterDefaults.of(settings())), work_pool=args.work_pool
    ):
        print(line)
    return EXIT_OK


def _deploy(args: argparse.Namespace) -> int:
    _offline_defaults()
    from deployments.quarterly import deploy

    for line in deploy(work_pool=args.work_pool):
        print(line)
    return EXIT_OK


def _serve() -> int:
    _offline_defaults()
    from deployments.quarterly import serve

    serve()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
