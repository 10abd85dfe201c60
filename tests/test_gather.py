"""Which inbox files a quarter reads (CONTRACT §1): windows reaching back, lock and hidden
files skipped, afvigelser.csv never read as figures, unreadable files reported, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvartal.gather import gather
from kvartal.quarters import Quarter
from kvartal.storage import LocalStorage, open_storage
from kvartal.storage.s3 import S3Storage

HEADER = (
    "Aftale;Nr.;Indsats;Mål-id;Måltype;Målbeskrivelse;Nøgletal;Enhed;Retning;Målværdi;Fra;Til\n"
)


def _write(root: Path, rel: str, text: str, encoding: str = "utf-8") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)


def _catalogue(root: Path, *windows: tuple[str, str]) -> None:
    rows = "".join(
        f"Aftale 2013;{i};Indsats {i};{i}-a;Indsatsmål;Mål;aftaler;antal;mindst;850;{a};{b}\n"
        for i, (a, b) in enumerate(windows, start=1)
    )
    _write(root, "targets/katalog.csv", HEADER + rows)


def _figures(root: Path, quarter: str, name: str = "centre.csv") -> None:
    _write(root, f"{quarter}/{name}", f"Nr.;Nøgletal;Kvartal;Værdi\n1;aftaler;{quarter};10\n")


def test_a_multi_year_window_reads_every_quarter_back_to_its_start(tmp_path):
    _catalogue(tmp_path, ("2013Q1", "2015Q4"))
    for q in ("2012Q4", "2013Q1", "2013Q2", "2014Q1", "2014Q2"):
        _figures(tmp_path, q)
    inputs = gather(LocalStorage(tmp_path), Quarter(2014, 2))
    assert sorted(str(q) for q in inputs.figures) == ["2013Q1", "2013Q2", "2014Q1", "2014Q2"]
    # The window needs 2013Q3 and 2013Q4 too: each is named as the folder looked for.
    assert [(p.file, p.rule, p.severity) for p in inputs.problems] == [
        ("2013Q3/", "kvartalsmappe_mangler", "advarsel"),
        ("2013Q4/", "kvartalsmappe_mangler", "advarsel"),
    ]


def test_the_quarter_before_is_read_even_when_no_window_reaches_it(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q2")
    _figures(tmp_path, "2009Q3")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert sorted(str(q) for q in inputs.figures) == ["2009Q2", "2009Q3"]


def test_lock_files_hidden_files_and_waivers_are_not_figures(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    _write(tmp_path, "2009Q3/~$centre.xlsx", "lock")
    _write(tmp_path, "2009Q3/.DS_Store", "junk")
    _write(
        tmp_path,
        "2009Q3/afvigelser.csv",
        "Fil;Celle;Regel;Begrundelse;Godkendt af\ncentre.csv;D2;;Kendt fejl;Olsen\n",
    )
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert [s.file for s in inputs.figures[Quarter(2009, 3)]] == ["2009Q3/centre.csv"]
    assert inputs.waivers is not None and inputs.waivers.file == "2009Q3/afvigelser.csv"
    paths = {s.path for s in inputs.sources}
    assert "2009Q3/afvigelser.csv" in paths and "2009Q3/~$centre.xlsx" not in paths
    assert inputs.problems == []


def test_an_unreadable_file_is_a_whole_file_error_and_the_others_are_still_read(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3", "a.csv")
    (tmp_path / "2009Q3" / "b.xlsx").write_bytes(b"this is not a workbook")
    _write(tmp_path, "2009Q3/notes.txt", "a note")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert [s.file for s in inputs.figures[Quarter(2009, 3)]] == ["2009Q3/a.csv"]
    by_file = {p.file: p for p in inputs.problems}
    assert by_file["2009Q3/b.xlsx"].severity == "fejl"
    assert by_file["2009Q3/b.xlsx"].cell is None
    # A file nobody reads may hold a centre's figures: it blocks until moved or waived.
    assert by_file["2009Q3/notes.txt"].severity == "fejl"
    assert by_file["2009Q3/notes.txt"].rule == "fil_ignoreret"


def test_a_missing_catalogue_and_quarter_folder_are_errors(tmp_path):
    _figures(tmp_path, "2009Q2")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    rules = {p.rule for p in inputs.problems if p.severity == "fejl"}
    assert rules == {"katalog_mangler", "kvartal_mangler"}


def test_a_milestone_reached_in_an_earlier_quarter_needs_no_new_figure(tmp_path):
    """CONTRACT §4 warns of an active target with no figure; a milestone reached in 2009Q1
    has nothing more to report, so 2009Q3 gives no `mangler_tal` for it."""
    from kvartal.review import frames_of
    from kvartal.validation import validate

    _write(
        tmp_path,
        "targets/katalog.csv",
        "Aftale;Nr.;Indsats;Mål-id;Måltype;Målbeskrivelse;Nøgletal;Enhed;Retning;Målværdi;"
        "Fra;Til;Frist\n"
        "Aftale 2009;2.2;Konsulenter;2.2-a;Indsatsmål;4 konsulenter ansat;;milepæl;;;"
        "2009Q1;2009Q4;31.01.2009\n"
        "Aftale 2009;2.3;Information;2.3-b;Indsatsmål;Pjecer udarbejdet;;milepæl;;;"
        "2009Q1;2009Q4;31.12.2009\n",
    )
    _write(
        tmp_path,
        "2009Q1/c.csv",
        "Nr.;Nøgletal;Kvartal;Værdi;Mål-id;Milepæl nået\n"
        "2.2;;2009Q1;;2.2-a;31.03.2009\n2.3;;2009Q1;;2.3-b;nej\n",
    )
    _write(
        tmp_path,
        "2009Q3/c.csv",
        "Nr.;Nøgletal;Kvartal;Værdi;Mål-id;Milepæl nået\n1.1;x;2009Q3;;;\n",
    )
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    frames = frames_of(inputs)
    result = validate(
        Quarter(2009, 3), frames.catalogue, frames.figures, frames.waivers, inputs.problems
    )
    missing = {p.value for p in result.problems if p.rule == "mangler_tal"}
    assert "2.3-b" in missing  # not reached yet: the centre must still report
    assert "2.2-a" not in missing


def test_no_inbox_at_all_is_a_wrong_location_not_a_validation_error(tmp_path):
    import subprocess
    import sys

    import pytest

    from kvartal.gather import InboxNotFound

    with pytest.raises(InboxNotFound):
        gather(LocalStorage(tmp_path / "nowhere"), Quarter(2009, 3))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "validate",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(tmp_path / "nowhere"),
            "--review-to",
            str(tmp_path / "review"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Indbakken" in done.stderr and "findes ikke" in done.stderr


# ---------------------------------------------------------------- the whole inbox, named


def _problems(inputs):
    return sorted((p.file, p.rule, p.severity) for p in inputs.problems)


def test_a_quarter_folder_is_read_however_the_clerk_spells_it(tmp_path):
    """CONTRACT §1: `2009q1`, `2009 Q2`, `2009-Q3` and `2009K4` are quarters like 2009Q3."""
    _catalogue(tmp_path, ("2009Q1", "2009Q4"))
    for spelled in ("2009q1", "2009 Q2", "2009-Q3"):
        _figures(tmp_path, spelled)
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert {str(q): [s.file for s in sheets] for q, sheets in inputs.figures.items()} == {
        "2009Q1": ["2009q1/centre.csv"],
        "2009Q2": ["2009 Q2/centre.csv"],
        "2009Q3": ["2009-Q3/centre.csv"],
    }
    assert inputs.problems == []


def test_a_waiver_file_is_found_in_a_quarter_folder_spelled_otherwise(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009K3")
    _write(
        tmp_path,
        "2009K3/afvigelser.csv",
        "Fil;Celle;Regel;Begrundelse;Godkendt af\ncentre.csv;D2;;Kendt;Olsen\n",
    )
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert inputs.waivers is not None and inputs.waivers.file == "2009K3/afvigelser.csv"


def test_two_folders_naming_one_quarter_are_both_named_as_errors(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3", "a.csv")
    _figures(tmp_path, "2009 Q3", "b.csv")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert _problems(inputs) == [
        ("2009 Q3/", "dobbelt_kvartalsmappe", "fejl"),
        ("2009Q3/", "dobbelt_kvartalsmappe", "fejl"),
    ]
    message = inputs.problems[0].message
    assert "»2009Q3/«" in message and "»2009 Q3/«" in message
    # Both are still read, so every problem of both files is seen in one report.
    assert sorted(s.file for s in inputs.figures[Quarter(2009, 3)]) == [
        "2009 Q3/b.csv",
        "2009Q3/a.csv",
    ]


def test_a_folder_that_is_no_quarter_and_a_file_at_the_root_are_named(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    _figures(tmp_path, "gammelt", "centre.csv")
    _write(tmp_path, "Jobcenter.xlsx", "x")
    _write(tmp_path, ".hidden/centre.csv", "x")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert _problems(inputs) == [
        ("Jobcenter.xlsx", "fil_uden_mappe", "fejl"),
        ("gammelt/", "ukendt_mappe", "fejl"),
    ]
    assert any("»gammelt«" in p.message for p in inputs.problems if p.file == "gammelt/")


def test_a_quarter_a_window_needs_and_the_inbox_lacks_is_a_warning_per_quarter(tmp_path):
    _catalogue(tmp_path, ("2009Q1", "2009Q4"), ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert _problems(inputs) == [
        ("2009Q1/", "kvartalsmappe_mangler", "advarsel"),
        ("2009Q2/", "kvartalsmappe_mangler", "advarsel"),
    ]
    assert "Mappen 2009Q1/ findes ikke" in inputs.problems[0].message


def test_an_old_xls_file_is_an_error_saying_how_to_save_it_as_xlsx(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    (tmp_path / "2009Q3" / "Ungecentret.xls").write_bytes(b"\xd0\xcf\x11\xe0 old")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    (problem,) = inputs.problems
    assert (problem.file, problem.rule, problem.severity) == (
        "2009Q3/Ungecentret.xls",
        "xls_fil",
        "fejl",
    )
    assert "Gem som" in problem.message and ".xlsx" in problem.message


def test_files_in_sub_folders_of_a_quarter_are_read(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3/Center Nord")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert [s.file for s in inputs.figures[Quarter(2009, 3)]] == ["2009Q3/Center Nord/centre.csv"]
    assert inputs.problems == []


@pytest.mark.slow
def test_folders_on_s3_are_matched_and_named_as_on_disk(tmp_path, s3_env):
    """The same clerk's inbox on S3 (moto over HTTP), with the zero-byte folder markers
    an S3 console leaves: the same quarters read, the same folders named."""
    _catalogue(tmp_path, ("2009Q1", "2009Q4"))
    _figures(tmp_path, "2009q2")
    _figures(tmp_path, "2009Q3", "a.csv")
    _figures(tmp_path, "2009 Q3", "b.csv")
    _figures(tmp_path, "gammelt")
    s3 = open_storage(s3_env)
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            s3.write(path.relative_to(tmp_path).as_posix(), path.read_bytes())
    assert isinstance(s3, S3Storage)
    for marker in ("2009q2/", "tomt arkiv/"):
        s3.client.put_object(Bucket=s3.bucket, Key=f"{s3.prefix}/{marker}", Body=b"")
    on_disk = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    on_s3 = gather(s3, Quarter(2009, 3))
    expected = [
        ("2009 Q3/", "dobbelt_kvartalsmappe", "fejl"),
        ("2009Q1/", "kvartalsmappe_mangler", "advarsel"),
        ("2009Q3/", "dobbelt_kvartalsmappe", "fejl"),
        ("gammelt/", "ukendt_mappe", "fejl"),
    ]
    assert _problems(on_disk) == expected
    # An empty folder holds nothing to leave out: no more named on S3 than on disk.
    assert _problems(on_s3) == expected
    for inputs in (on_disk, on_s3):
        assert [s.file for s in inputs.figures[Quarter(2009, 2)]] == ["2009q2/centre.csv"]


def test_waivers_written_beside_a_clerks_folder_spelling_are_read_and_no_duplicate(tmp_path):
    """An approval writes `2009Q3/afvigelser.csv`; the clerk's folder is `2009 Q3/`."""
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009 Q3")
    _write(
        tmp_path,
        "2009Q3/afvigelser.csv",
        "Fil;Celle;Regel;Begrundelse;Godkendt af\n2009 Q3/centre.csv;D2;;Kendt;Olsen\n",
    )
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert inputs.problems == []
    assert inputs.waivers is not None and inputs.waivers.file == "2009Q3/afvigelser.csv"
    assert [s.file for s in inputs.figures[Quarter(2009, 3)]] == ["2009 Q3/centre.csv"]


def test_the_centres_contacts_in_targets_are_not_read_as_a_catalogue(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    _write(tmp_path, "targets/Centre.csv", "Ansvarlig;E-mail\nJobcentret;j@x.dk\n")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert [s.file for s in inputs.catalogue] == ["targets/katalog.csv"]
    assert inputs.contacts == "targets/Centre.csv"
    assert inputs.problems == []


def test_a_second_targets_folder_in_other_case_is_named(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    _write(tmp_path, "Targets/ekstra.csv", HEADER)
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert [s.file for s in inputs.catalogue] == ["targets/katalog.csv"]
    assert [(p.file, p.rule, p.severity) for p in inputs.problems] == [
        ("Targets/", "ukendt_mappe", "fejl")
    ]


def test_a_waiver_file_deeper_in_a_quarter_folder_is_not_skipped_without_a_word(tmp_path):
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    _write(tmp_path, "2009Q3/gammelt/afvigelser.csv", "Fil;Celle;Regel;Begrundelse;Godkendt af\n")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert inputs.waivers is None
    # Read as a centre's file, and its missing figure columns named.
    assert {p.file for p in inputs.problems} == set()
    assert "2009Q3/gammelt/afvigelser.csv" in [s.file for s in inputs.figures[Quarter(2009, 3)]]


def test_a_waiver_file_in_targets_is_not_skipped_without_a_word(tmp_path):
    """Waivers belong in the quarter's folder; one put in targets/ waives nothing, so the
    operator must hear of it instead of believing the problem waived."""
    _catalogue(tmp_path, ("2009Q3", "2009Q4"))
    _figures(tmp_path, "2009Q3")
    _write(tmp_path, "targets/afvigelser.csv", "Fil;Celle;Regel;Begrundelse;Godkendt af\n")
    inputs = gather(LocalStorage(tmp_path), Quarter(2009, 3))
    assert inputs.waivers is None
    assert "targets/afvigelser.csv" in [s.file for s in inputs.catalogue]
