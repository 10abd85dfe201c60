"""Every column of every sheet read is a contract column or named (CONTRACT §1).

A header the pipeline does not know is kept out of the way, which is right for a centre's
own notes and wrong for `Forventning` typed for `Forventet`: the forecasts would vanish
from the report with nobody told. So a header close to a contract column is an error
naming the contract's spelling, a header written twice is an error (which of the two did
the centre mean?), filled cells under no header are an error, and the remaining extra
columns are listed once per file as unused.
"""

from __future__ import annotations

from collections.abc import Iterable

from kvartal.model import ERROR, WARNING, Problem
from kvartal.tables import SheetFrame


def column_problems(frames: Iterable[SheetFrame]) -> list[Problem]:
    out: list[Problem] = []
    for frame in frames:
        row = frame.header_row

        def problem(
            rule: str,
            cell: str | None,
            column: str | None,
            value: str,
            message: str,
            frame: SheetFrame = frame,
        ) -> Problem:
            return Problem(
                file=frame.file,
                sheet=frame.sheet,
                cell=cell,
                column=column,
                row=frame.header_row if cell is not None else None,
                rule=rule,
                severity=WARNING if rule == "ubrugt_kolonne" else ERROR,
                value=value,
                message=message,
            )

        for text, letter, meant in frame.misspelled:
            out.append(
                problem(
                    "kolonne_stavet",
                    f"{letter}{row}",
                    meant,
                    text,
                    f"Overskriften »{text}« i {letter}{row} er ikke en kolonne i "
                    f"afrapporteringen, men ligner »{meant}«, så kolonnen er ikke læst. "
                    f"Skriv overskriften som »{meant}«, hvis det er den, der er ment.",
                )
            )
        for text, letter, name in frame.duplicates:
            first = frame.letters.get(name, "?")
            out.append(
                problem(
                    "dublet_kolonne",
                    f"{letter}{row}",
                    name,
                    text,
                    f"Overskriften »{name}« står både i kolonne {first} og {letter}; kun "
                    f"kolonne {first} er læst. Slet eller omdøb den ene, så det er klart, "
                    f"hvilke tal der gælder.",
                )
            )
        for letter, first_row in frame.nameless:
            out.append(
                problem(
                    "kolonne_uden_overskrift",
                    f"{letter}{row}",
                    None,
                    f"{letter}{first_row}",
                    f"Kolonne {letter} har udfyldte celler (fx {letter}{first_row}), men "
                    f"ingen overskrift i {letter}{row}, så den er ikke læst. Giv den en "
                    f"overskrift fra afrapporteringen, eller slet cellerne. (I en CSV-fil "
                    f"skyldes det ofte et decimalkomma uden anførselstegn.)",
                )
            )
        if frame.unused:
            listed = ", ".join(f"»{text}« ({letter})" for text, letter in frame.unused)
            out.append(
                problem(
                    "ubrugt_kolonne",
                    None,
                    None,
                    listed,
                    f"Kolonnerne {listed} er ikke kolonner i afrapporteringen og er ikke "
                    f"brugt. Det er i orden for egne noter; skal tallene med, så ret "
                    f"overskriften til afrapporteringens stavemåde."
                    if len(frame.unused) > 1
                    else f"Kolonnen {listed} er ikke en kolonne i afrapporteringen og er "
                    f"ikke brugt. Det er i orden for egne noter; skal tallene med, så ret "
                    f"overskriften til afrapporteringens stavemåde.",
                )
            )
    return out
