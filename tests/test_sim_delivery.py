"""The delivery simulation over many seeds: every recipient mailed once per version, except
an unknown outcome the operators were told of; a record never lost without a failed run.

tests/support/sim_delivery.py describes the simulation and its invariants. A failing seed
replays with `python -m tests.support.sim_delivery --seed N --trace`.
"""

from __future__ import annotations

from typing import Any

import pytest

from kvartal import notify
from tests.support import sim_delivery
from tests.support.sim_delivery import MemoryStorage, failing_seeds, simulate

FAST_SEEDS = range(300)
SLOW_SEEDS = range(300, 10_300)


def _explain(found: dict[int, list[str]]) -> str:
    lines = [f"seed {seed}: {violations[0]}" for seed, violations in list(found.items())[:10]]
    return f"{len(found)} seeds violate an invariant:\n" + "\n".join(lines)


def test_a_few_hundred_seeds_hold_every_invariant() -> None:
    found = failing_seeds(FAST_SEEDS)
    assert found == {}, _explain(found)


@pytest.mark.slow
def test_ten_thousand_seeds_hold_every_invariant() -> None:
    found = failing_seeds(SLOW_SEEDS)
    assert found == {}, _explain(found)


def test_a_seed_replays_exactly() -> None:
    first, second = simulate(482, trace=True), simulate(482, trace=True)
    assert first.log and first.log == second.log
    # (Message-IDs are random, as in kvartal; who was mailed when is not)
    mails = [[(t, to, v, who) for t, to, v, _, who in s.mail_log] for s in (first, second)]
    assert mails[0] and mails[0] == mails[1] and first.steps == second.steps


def test_the_seeds_exercise_the_faults() -> None:
    """The schedules reach what they are meant to: stalls, kills, outages, slow answers,
    several notifiers at once, and unknown outcomes taken over and told."""
    seen: dict[str, int] = {}
    for seed in FAST_SEEDS:
        sim = simulate(seed, trace=True)
        text = "\n".join(sim.log)
        for word in ("stalled", "killed", "ledger down", "answer lost", "told operators"):
            seen[word] = seen.get(word, 0) + (word in text)
        seen["two at once"] = seen.get("two at once", 0) + any("busy" in line for line in sim.log)
        seen["waited out"] = seen.get("waited out", 0) + any(
            "stopped waiting" in who for *_, who in sim.mail_log
        )
    assert all(count >= 5 for count in seen.values()), seen


# the simulation can fail: each fault, put back into the code, is found --------------------


def test_a_ledger_that_ignores_create_only_lets_two_runs_mail_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fault 2's shape: without a claim that only one run can make, both send."""
    real = MemoryStorage.write

    def overwrite(self: MemoryStorage, key: str, data: bytes, **kwargs: Any) -> None:
        kwargs["create_only"] = False
        real(self, key, data, **kwargs)

    monkeypatch.setattr(MemoryStorage, "write", overwrite)
    found = failing_seeds(range(200))
    assert any(v.startswith("once:") for vs in found.values() for v in vs), _explain(found)


def test_a_record_failure_swallowed_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 3's shape: a record that could not be written, and the run carries on."""
    real = notify._record

    def swallow(*args: Any) -> None:
        try:
            real(*args)
        except OSError:
            return

    monkeypatch.setattr(notify, "_record", swallow)
    found = failing_seeds(range(200))
    assert any(v.startswith("silent:") for vs in found.values() for v in vs), _explain(found)


def test_resending_without_telling_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown outcome taken over in silence breaks the promise the design makes."""
    real = sim_delivery.Simulation._tell

    def quiet(self: sim_delivery.Simulation, proc: Any, doubts: list[Any]) -> None:
        real(self, proc, [d for d in doubts if d.kind != "unknown"])

    monkeypatch.setattr(sim_delivery.Simulation, "_tell", quiet)
    found = failing_seeds(range(300))
    assert any(v.startswith("once:") for vs in found.values() for v in vs), _explain(found)
