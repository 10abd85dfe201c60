"""Installs the fault harness's hooks (tests/support/faults.py) in a process started by the
tests, when its environment asks for them; otherwise imports nothing."""

import os

if any(
    os.environ.get(name, "").strip()
    for name in ("KVARTAL_FAULT_KILL_AT", "KVARTAL_FAULT_TRACE", "KVARTAL_FAULT_STOP_AT")
):
    import sys
    from pathlib import Path

    _repo = str(Path(__file__).resolve().parents[3])
    if _repo not in sys.path:
        sys.path.insert(0, _repo)
    from tests.support.faults import install

    install()
