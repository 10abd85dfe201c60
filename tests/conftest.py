"""Shared test set-up: offline Prefect, one Prefect API per session.

Fixtures that start servers live in `tests/support/` and are registered below, so every
test module can ask for them by name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_INBOX = REPO / "examples" / "inbox"
# Every process the tests start installs the fault harness's storage wrapper when its
# environment asks for it (tests/support/faults.py): production code knows nothing of it.
FAULT_HOOKS = str(REPO / "tests" / "support" / "faulthook")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [FAULT_HOOKS, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
)

pytest_plugins: list[str] = [
    "tests.support.prefect_server",
    "tests.support.postgres",
    "tests.support.s3server",
    "tests.support.smtp",
    "tests.support.operations",
]


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect API for the session (the harness's temporary server and database)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


# --- What a tier starts: `pytest --list-started` names every test that starts a process ---
#
# The Makefile says what each tier runs; this is how that sentence is checked. Python's
# audit hooks see every process start (subprocess, os.exec*, os.posix_spawn, os.system),
# whatever library asks for it, without patching anything.

_STARTS = ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn", "os.system", "os.fork")
_started: dict[str, list[str]] = {}
_current: list[str] = [""]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--list-started",
        action="store_true",
        help="list the tests that start a process, and which program",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--list-started"):
        return
    import sys

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event in _STARTS:
            program = args[1] if event == "subprocess.Popen" else args[0] if args else ""
            if isinstance(program, list | tuple):
                program = " ".join(str(a) for a in program[:3])
            _started.setdefault(_current[0], []).append(f"{event}: {program}"[:160])

    sys.addaudithook(hook)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    _current[0] = item.nodeid
    try:
        return (yield)
    finally:
        _current[0] = "(between tests)"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not config.getoption("--list-started"):
        return
    terminalreporter.section("processes started")
    for test, programs in sorted(_started.items()):
        terminalreporter.write_line(test)
        for program in sorted(set(programs)):
            terminalreporter.write_line(f"    {program}")
