"""Write the spreadsheets of `tests/data/office/` with the real office programs.

A hand-built workbook only shows how its author thought a program stores a cell; these files
are saved by LibreOffice Calc (`soffice --headless --convert-to`) and Gnumeric (`ssconvert`)
themselves, so the readers are tested against what centres actually send:

- `typed/`: the typed cases (a percent-formatted number, a thousands format, a date in the
  1900 and in the 1904 date system, a formula) written by openpyxl as `source.xlsx` and
  `source1904.xlsx`, then saved by each program as .xlsx and .ods. openpyxl stores no
  saved value for a formula, so `source.xlsx` is itself the "formula without a saved
  value" case; the programs calculate and save one.
- `keys/`: key cells (`Nr.`, `Mål-id`) typed as numbers with number formats (`0.00`
  showing 1.10), written by openpyxl as `source.xlsx` and saved by each program as .xlsx
  and .ods.
- `<program>/same/<quarter>/<file>`: every workbook of the example inbox opened and saved
  again in its own format; `<program>/swapped/…`: saved in the other format (.xlsx as
  .ods, .ods as .xlsx), which is how a percent cell of an Excel file becomes Gnumeric's
  float with a percentage style. CSV files are not office documents and are not copied.

Locale: Danish (`da_DK.UTF-8`). Where the system has no such locale and `localedef` is
available, it is compiled into a temporary folder and used through `LOCPATH`; the locale
used is printed. The files were committed as produced with LibreOffice 7.4 and Gnumeric
1.12 on Debian 12.

Run from the repository root: `.venv/bin/python tests/data/office/make_office_fixtures.py`
(`--out DIR` writes elsewhere, as the test that checks this script does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
INBOX = REPO / "examples" / "inbox"
PROGRAMS = ("libreoffice", "gnumeric")

# The typed cases: (Nr., Værdi, number format). Row 2 onwards; column E holds a formula.
TYPED_HEADER = ["Nr.", "Værdi", "Tusinder", "Dato", "Formel"]


def write_typed(path: Path, *, mac_epoch: bool = False) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Tal"
    if mac_epoch:
        wb.epoch = CALENDAR_MAC_1904
    ws.append(TYPED_HEADER)
    ws.append(["1.1", 0.86, 1400, date(2009, 9, 15), "=B2*100"])
    ws.append(["1.2", 0.065, 1032, date(2009, 3, 31), "=C3+1"])
    ws["B2"].number_format = "0%"
    ws["B3"].number_format = "0.0%"
    ws["C2"].number_format = "#,##0"
    ws["C3"].number_format = "#,##0"
    ws["D2"].number_format = "yyyy-mm-dd"
    ws["D3"].number_format = "dd.mm.yyyy"
    wb.save(path)


# Key cells typed as numbers (CONTRACT §1: a number cell that shows `1.10` is `1.10`):
# (Nr., its number format, Mål-id, its number format). Row 2 onwards.
KEYS_HEADER = ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Mål-id"]
KEY_ROWS = [
    (1.1, "0.00", "1.10-a", None),  # shows 1.10
    (1.4, "General", "1.4-a", None),  # shows 1.4
    (2, "0.0", "2.0-a", None),  # shows 2.0
    (3.1, "General", 3.1, "0.00"),  # Mål-id as a number showing 3.10
    (1.1, '0.00" stk."', "1.10-b", None),  # shows "1.10 stk.": no plain key
]


def write_keys(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Tal"
    ws.append(KEYS_HEADER)
    for i, (nr, nr_format, target_id, id_format) in enumerate(KEY_ROWS, start=2):
        ws.append([nr, "deltagere", "2009Q3", 10, target_id])
        ws[f"A{i}"].number_format = nr_format
        if id_format:
            ws[f"E{i}"].number_format = id_format
    wb.save(path)


def write_formula_figures(path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(INBOX / "2009Q3" / "Økonomiforvaltningen.xlsx")
    ws = wb["Tal"]
    assert ws["D2"].value == 31, ws["D2"].value
    ws["D2"] = "=30+1"
    wb.save(path)


def danish_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    have = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    if "da_dk.utf8" not in have and shutil.which("localedef"):
        locpath = work / "locale"
        locpath.mkdir()
        subprocess.run(
            ["localedef", "-i", "da_DK", "-f", "UTF-8", str(locpath / "da_DK.UTF-8")], check=False
        )
        if (locpath / "da_DK.UTF-8").exists():
            env["LOCPATH"] = str(locpath)
            have += "da_dk.utf8"
    locale = "da_DK.UTF-8" if "da_dk.utf8" in have else "C.UTF-8"
    env.update(LC_ALL=locale, LANG=locale, LANGUAGE="da")
    print(f"locale: {locale}" + (f" (LOCPATH={env['LOCPATH']})" if "LOCPATH" in env else ""))
    return env


def convert(program: str, source: Path, target: Path, env: dict[str, str], work: Path) -> None:
    """Open `source` in `program` and save it as `target` (format from its extension)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if program == "gnumeric":
        subprocess.run(
            ["ssconvert", str(source), str(target)], env=env, check=True, capture_output=True
        )
        return
    out = work / "soffice-out"
    shutil.rmtree(out, ignore_errors=True)
    ext = target.suffix.lstrip(".")
    filters = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "ods": "ods"}
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{work}/lo-profile",
            "--headless",
            "--convert-to",
            filters[ext],
            "--outdir",
            str(out),
            str(source),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    shutil.move(str(out / (source.stem + "." + ext)), target)


def main(argv: list[str]) -> int:
    out = Path(argv[argv.index("--out") + 1]).resolve() if "--out" in argv else HERE
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = danish_env(work)
        typed = out / "typed"
        typed.mkdir(exist_ok=True)
        write_typed(typed / "source.xlsx")
        write_typed(typed / "source1904.xlsx", mac_epoch=True)
        keys = out / "keys"
        keys.mkdir(exist_ok=True)
        write_keys(keys / "source.xlsx")
        write_formula_figures(work / "Økonomiforvaltningen.xlsx")
        convert(
            "libreoffice",
            work / "Økonomiforvaltningen.xlsx",
            out / "formula" / "2009Q3" / "Økonomiforvaltningen.xlsx",
            env,
            work,
        )
        for program in PROGRAMS:
            for ext in ("xlsx", "ods"):
                convert(program, typed / "source.xlsx", typed / f"{program}.{ext}", env, work)
            convert(program, typed / "source1904.xlsx", typed / f"{program}1904.xlsx", env, work)
            for ext in ("xlsx", "ods"):
                convert(program, keys / "source.xlsx", keys / f"{program}.{ext}", env, work)
            for variant in ("same", "swapped"):
                shutil.rmtree(out / program / variant, ignore_errors=True)
            for path in sorted(INBOX.rglob("*")):
                if path.suffix not in (".xlsx", ".ods"):
                    continue
                rel = path.relative_to(INBOX)
                other = ".ods" if path.suffix == ".xlsx" else ".xlsx"
                convert(program, path, out / program / "same" / rel, env, work)
                convert(
                    program, path, out / program / "swapped" / rel.with_suffix(other), env, work
                )
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".xlsx", ".ods"):
            print(path.relative_to(out), path.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
