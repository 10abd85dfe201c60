"""Mutants of module-level constants, which mutmut leaves alone (it mutates inside
functions only): the key patterns, the number and date patterns and the retry counts of
numbers, fulfilment and publish.

Each mutant is one textual change in a copy of the repository; the tests that cover the
module run against the copy and must fail. Run by `make mutate` after mutmut:

    python -m tests.support.constant_mutants

Exit status 1 and the surviving mutants listed (file:line, old -> new) when any survives.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]


class Mutant(NamedTuple):
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


NUMBERS = ("tests/test_numbers.py", "tests/test_numbers_cases.py")
PUBLISH = ("tests/test_publish.py", "tests/test_publish_cases.py", "tests/test_publish_race.py")

MUTANTS = [
    # numbers: the approximate prefix, the suffixes, the body, the spaces, the minus signs
    Mutant("kvartal/numbers.py", r"(?:ca\.?|cirka)", r"(?:ca\.?)", NUMBERS),
    Mutant("kvartal/numbers.py", r"(?:ca\.?|cirka)", r"(?:ca\.|cirka)", NUMBERS),
    Mutant("kvartal/numbers.py", r"(?=[-\u2212\d])", r"(?=[\d])", NUMBERS),
    Mutant("kvartal/numbers.py", r'r"\s*kr\.?$"', r'r"\s*kr\.$"', NUMBERS),
    Mutant("kvartal/numbers.py", r"(?:pct\.?|%|procent)", r"(?:pct\.?|%)", NUMBERS),
    Mutant("kvartal/numbers.py", r"(?P<m>mio|mia)", r"(?P<m>mio)", NUMBERS),
    Mutant("kvartal/numbers.py", '"mia": 1_000_000_000.0', '"mia": 1_000_000.0', NUMBERS),
    Mutant("kvartal/numbers.py", r"(?:\.\d{3})+", r"(?:\.\d{2,3})+", NUMBERS),
    Mutant("kvartal/numbers.py", r"(?: \d{3})+", r"(?: \d+)+", NUMBERS),
    Mutant("kvartal/numbers.py", r'(?:,(?P<dec>\d+))?$"', r'(?:[,.](?P<dec>\d+))?$"', NUMBERS),
    Mutant("kvartal/numbers.py", '"\\u00a0": " ", ', "", NUMBERS),
    Mutant("kvartal/numbers.py", '_MINUS = ("-", "\\u2212")', '_MINUS = ("-",)', NUMBERS),
    Mutant("kvartal/numbers.py", r"(?P<y>\d{4})-(?P<m>", r"(?P<y>\d{2,4})-(?P<m>", NUMBERS),
    Mutant("kvartal/numbers.py", r"[./-](?P<y>\d{4})$", r"[./-](?P<y>\d{2,4})$", NUMBERS),
    # publish: which keys are versions, which bookkeeping is spent, the retry counts
    Mutant(
        "kvartal/publish.py", r"/versions/(?P<n>[1-9][0-9]*)/", r"/versions/(?P<n>[0-9]+)/", PUBLISH
    ),
    # (`^(?P<quarter>[^/]+)/versions/` -> `.+` is equivalent: docs/mutation.md)
    Mutant("kvartal/publish.py", r"(?:claims|staging)", r"(?:claims)", PUBLISH),
    Mutant("kvartal/publish.py", r"^\.kvartal/decided/", r"^\.kvartal/decidedX/", PUBLISH),
    Mutant("kvartal/publish.py", "_PROMOTE_ATTEMPTS = 3", "_PROMOTE_ATTEMPTS = 1", PUBLISH),
    Mutant("kvartal/publish.py", "_ROUNDS = 4", "_ROUNDS = 1", PUBLISH),
    Mutant("kvartal/publish.py", "_OVERTAKEN_KEPT = 24 * 3600.0", "_OVERTAKEN_KEPT = 0.0", PUBLISH),
]


def run(mutant: Mutant, copy: Path) -> bool:
    """Whether the tests kill the mutant (fail with it in place)."""
    target = copy / mutant.path
    original = target.read_text("utf-8")
    if original.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.path}: {mutant.old!r} is not found exactly once")
    target.write_text(original.replace(mutant.old, mutant.new), "utf-8")
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-m",
                "not slow",
                *mutant.tests,
            ],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        target.write_text(original, "utf-8")
    return done.returncode != 0


def main() -> int:
    started = time.monotonic()
    survivors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kvartal-mutants-") as tmp:
        copy = Path(tmp) / "repo"
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split("\n")
        for name in filter(None, listed):
            source = ROOT / name
            if source.is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy / name)
        for mutant in MUTANTS:
            line = (ROOT / mutant.path).read_text("utf-8").split(mutant.old)[0].count("\n") + 1
            killed = run(mutant, copy)
            where = f"{mutant.path}:{line}: {mutant.old} -> {mutant.new}"
            print(f"{'killed  ' if killed else 'SURVIVED'} {where}", flush=True)
            if not killed:
                survivors.append(where)
    print(
        f"{len(MUTANTS) - len(survivors)} killed, {len(survivors)} survived "
        f"of {len(MUTANTS)} constant mutants in {time.monotonic() - started:.0f} s"
    )
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
