"""Write `examples/inbox/`: the spreadsheets that rebuild seed 000.

Seed 000 is "Bilag 1, Status: Beskæftigelsesaftale 2009, 3. kvartal". The inbox holds the
target catalogue behind it and the figures five reporting centres would have delivered for
2009 Q1–Q3, so that `kvartal run --quarter 2009Q3` must reproduce the appendix. It is the
project's golden quarter: tests/test_golden.py checks the pipeline's fulfilment against
figures worked out by hand from the rows below.

Everything a reviewer needs to check is in the literal rows of this file: each cell is
written exactly as it appears in the spreadsheet (text such as "ca. 88" or "1.032" stays
text; ints and floats become numeric cells in .xlsx/.ods). Comments say which sentence of
the seed a number comes from, or that the seed is silent and the number is our choice.

The files are written deterministically (fixed zip timestamps and document dates), so
running this script again changes no byte and the committed inbox stays reproducible.

    python examples/make_inbox.py            # writes examples/inbox/
    python examples/make_inbox.py OTHER_DIR  # writes elsewhere
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

from odf.number import DateStyle, Day, Month, Year
from odf.number import Text as NumberText
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style
from odf.table import Table, TableCell, TableRow
from odf.text import P
from openpyxl import Workbook

from kvartal.model import CATALOGUE_COLUMNS, FIGURE_COLUMNS
from kvartal.quarters import Quarter

HERE = Path(__file__).resolve().parent
# The seed's "Sidst opdateret: 26.11.09", used as every file's timestamp.
STAMP = datetime(2009, 11, 26, 12, 0, 0)

AGREEMENT = "Beskæftigelsesaftale 2009"

# The seed's three headings ("1 Jobplan: …", "2 Styrket indsats …", "3 Sikker By").
THEMES = {
    "1": "Jobplan: Flere Indvandrere i Arbejde",
    "2": "Styrket indsats mod Fattigdom og Marginalisering",
    "3": "Sikker By",
}

# Initiative titles, word for word from the seed's "Indsatsmål / aktivitet" column
# (its spelling "indvandrermodre" in 2.1 included).
TITLES = {
    "1.1": "Hurtig aktivering af jobparate indvandrere på kontanthjælp",
    "1.2": "Partnerskaber med virksomheder om indslusning til arbejde",
    "1.3": "Pulje til opkvalificering i mindre partnerskabsvirksomheder",
    "1.4": "Ny jobbus i boligområderne",
    "1.5": "Styrket indsats mod langvarigt sygefravær",
    "1.6": "Flere integrationsstillinger i Københavns Kommune",
    "1.7": "Kompetence-udvikling af alle medarbejdere i BIF",
    "1.8": "Mere brugervenligt IT-selvbetjening i jobcentret",
    "1.9": "Vejledning og løntilskud til familieforsørgede indvandrerkvinder",
    "1.10": "Jobklubber for kontanthjælpsmodtagere",
    "2.1": "Hjælp til udsatte indvandrermodre i risiko for marginalisering på grund af "
    "manglende tilknytning til arbejdsmarkedet",
    "2.2": "Opsøgende job - og uddannelsesformidling til unge familieforsørgede",
    "2.3": "Flere personer med handicap i arbejde eller uddannelse",
    "2.4": "Unge psykiske syge i arbejde eller uddannelse",
    "3.1": "Fritidsjob til unge fra problemfyldte boligområder",
    "3.2": "Job baner vejen til uddannelse",
    "3.3": "Praktikbørs og flere elev- og praktikpladser i Københavns Kommune",
    "3.4": "Fra kriminalitet til job og uddannelse",
}

# The reporting centres are our invention (the seed names none per initiative; 1.3's
# "via beskæftigelsescentrene" and 1.6/3.3's Økonomiforvaltningen are the only hints).
JOBINDSATS = "Center for Jobindsats"
BESKAEFTIGELSE = "Beskæftigelsescentrene"
UNGE = "Ungecentret"
BIF = "BIF Stab"
OEKONOMI = "Økonomiforvaltningen"
RESPONSIBLE = {
    "1.1": JOBINDSATS,
    "1.2": JOBINDSATS,
    "1.4": JOBINDSATS,
    "1.10": JOBINDSATS,
    "1.3": BESKAEFTIGELSE,
    "1.5": BESKAEFTIGELSE,
    "1.9": BESKAEFTIGELSE,
    "2.1": BESKAEFTIGELSE,
    "2.4": BESKAEFTIGELSE,
    "2.2": UNGE,
    "3.1": UNGE,
    "3.2": UNGE,
    "3.4": UNGE,
    "1.7": BIF,
    "1.8": BIF,
    "2.3": BIF,
    "1.6": OEKONOMI,
    "3.3": OEKONOMI,
}

# --- Result targets (Resultatmål) -------------------------------------------------------
# The seed's "Resultatmål" column mostly says an initiative *contributes* to a shared goal:
# the job plan's "ca. 2.000 ekstra personer årligt frem mod 2010", or the city's "500 flere
# unge … i gang med en ungdomsuddannelse". The catalogue keeps that text word for word, so
# the report can show the column as the seed does, and gives it the metric and target the
# seed states (a level, `seneste`, window to the goal's horizon 2010Q4). No centre reports
# these figures (the seed reports none either), so they are honestly `no_data` in 2009 Q3
# and validation warns that an active target has no figure.
# 1.5's result text states no number ("forventes at nedbringe antallet af langtidssyge"):
# it is left out of the catalogue, because a milestone would need a due date the seed does
# not give, and inventing one would put a judgement in the report the seed never made.
# 2.3 and 2.4 have no result target in the seed.
R_JOBPLAN = (
    "Initiativet bidrager til opfyldelsen af det samlede resultatmål for jobplanen om at øge "
    "beskæftigelsen blandt indvandrere og efterkommere med ca. 2.000 ekstra personer årligt "
    "frem mod 2010."
)
R_1_2 = (
    "Målet for jobplanen er at øge antallet af indvandrere og efterkommere i beskæftigelse "
    "med ca. 2.000 ekstra helårspersoner årligt i forhold til 2007. Partnerskaberne forventes "
    "på sigt at bringe ca. 700 ekstra personer i selvforsørgelse årligt."
)
R_1_8 = (
    "Indsatsen bidrager til at realisere det samlede resultatmål for jobplanen om at øge "
    "beskæftigelsen blandt indvandrere og efterkommere med ca. 2.000 ekstra personer årligt "
    "frem mod 2010."
)
R_2_1 = (
    "Initiativet vil bidrage til at øge særligt indvandrerkvinders beskæftigelsesfrekvens og "
    "bidrager dermed til opfyldelsen af det samlede resultatmål for jobplanen om at øge "
    "beskæftigelsen blandt indvandrere og efterkommere med ca. 2.000 ekstra personer årligt "
    "frem mod 2010."
)
R_3_1 = (
    "Det er Københavns Kommunes mål, at yderligere 500 unge fra restgruppen uden "
    "ungdomsuddannelse gennemfører eller starter på en ungdomsuddannelse frem til og med "
    "2010. Det forventes, at fritidsjobbene bidrager til at yderligere 60-70 unge årligt "
    "afklares i forhold til at begynde en ungdomsuddannelse"
)
R_3_2 = (
    'Initiativet bidrager til målopfyldelsen i "Ungdomsuddannelse til alle i København", '
    "hvor det er målsætningen, at 500 flere unge uden uddannelse skal i gang med en "
    "ungdomsuddannelse."
)
R_3_3 = (
    "Initiativet bidrager til målopfyldelsen i ”Ungdomsuddannelse til alle i København”, "
    "hvor det er målsætningen, at Københavns Kommune sammen med erhvervsskolerne og "
    "arbejdsmarkedets parter skaffer yderligere 500 elev- og praktikpladser. Ses initiativet "
    "i sammenhæng med oprettelsen af 50 ekstra praktikpladser i kommunen i "
    "integrationsaftalen for 2007, vil Københavns Kommune have bidraget med 20 pct. af "
    "målopfyldelsen."
)
R_3_4 = (
    "Initiativet bidrager til målopfyldelsen i ”Ungdomsuddannelse til alle i København”, "
    "hvor det er målsætningen, at 500 flere unge uden uddannelse skal i gang med en "
    "ungdomsuddannelse inden udgangen af 2010."
)

# The catalogue's header is the canonical one, in its order.
CATALOGUE_HEADER = list(CATALOGUE_COLUMNS)

# Nr., Mål-id, Måltype, Målbeskrivelse, Nøgletal, Enhed, Retning, Målværdi, Målværdi maks.,
# Opgørelse, Basislinje, Fra, Til, Frist.  (Aftale, Indsatsområde, Indsats and Ansvarlig
# follow from Nr. through the tables above.)  Windows are 2009Q1–2009Q4, the agreement's
# year, unless the seed says otherwise.
ACT, RES, MILE = "Indsatsmål", "Resultatmål", "Milepæl"
CATALOGUE = [
    # 1.1 "Mindst 90 pct. … aktivt tilbud inden 6 måneders ledighed."
    (
        "1.1",
        "1.1-a",
        ACT,
        "Mindst 90 pct. af de arbejdsmarkedsparete med indvandrerbaggrund "
        "skal have et aktivt tilbud inden 6 måneders ledighed.",
        "aktiveret_6_mdr",
        "pct.",
        "mindst",
        90,
        None,
        "seneste",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.1",
        "1.1-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.2 "… samarbejdsaftaler … inden sommeren 2009": due 30 June 2009 (the end of Q2,
    # the latest date "before the summer" can mean).
    (
        "1.2",
        "1.2-a",
        MILE,
        "Der etableres forpligtende samarbejdsaftaler med offentlige og "
        "private virksomheder inden for områder med stor arbejdskraft efterspørgsel inden "
        "sommeren 2009.",
        None,
        "milepæl",
        None,
        None,
        None,
        None,
        None,
        "2009Q1",
        "2009Q4",
        date(2009, 6, 30),
    ),
    # "mindst 1.800 forløb" a year: the status says the 350 places give "1400 forløb årligt
    # fra og med 2010", plus 400 from 1.3, so the 1.800 are counted from 2010. The window
    # starts after 2009Q3: the target is in the catalogue but not in 2009 Q3's report.
    (
        "1.2",
        "1.2-b",
        ACT,
        "Der gennemføres årligt mindst 1.800 forløb for ledige borgere i matchgruppe 3-4.",
        "forløb",
        "antal",
        "mindst",
        "1.800",
        None,
        "sum",
        None,
        "2010Q1",
        "2010Q4",
        None,
    ),
    (
        "1.2",
        "1.2-r",
        RES,
        R_1_2,
        "selvforsørgede",
        "antal",
        "mindst",
        "ca. 700",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.3 "Puljen til opkvalificering udmøntes inden udgangen af 2009."
    (
        "1.3",
        "1.3-a",
        MILE,
        "Puljen til opkvalificering udmøntes inden udgangen af 2009.",
        None,
        "milepæl",
        None,
        None,
        None,
        None,
        None,
        "2009Q1",
        "2009Q4",
        date(2009, 12, 31),
    ),
    # The 400 is the status text's "Fuld udmøntning af puljen svarer til 400
    # partnerskabspraktikker i 2009."
    (
        "1.3",
        "1.3-b",
        ACT,
        "Initiativet skal også bidrage til opfylde resultatmålet for 1.2. "
        "Fuld udmøntning af puljen svarer til 400 partnerskabspraktikker i 2009.",
        "forløb",
        "antal",
        "mindst",
        400,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.3",
        "1.3-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.4 "mindst to gange om ugen 40 uger om året" = 2 × 40 = 80 trips a year.
    (
        "1.4",
        "1.4-a",
        ACT,
        "Jobbussen kører mindst to gange om ugen 40 uger om året.",
        "ture",
        "antal",
        "mindst",
        80,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.4",
        "1.4-b",
        ACT,
        "Målet er 500 deltagere i 2009.",
        "deltagere",
        "antal",
        "mindst",
        500,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.4",
        "1.4-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.5 "Der henvises årligt 150 borgere til forløb." (no result target: see above)
    (
        "1.5",
        "1.5-a",
        ACT,
        "Der henvises årligt 150 borgere til forløb.",
        "henviste",
        "antal",
        "mindst",
        150,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    # 1.6 "… inden udgangen af 2009 i alt 30 integrationsstillinger": a level of positions
    # in existence, so `seneste`.
    (
        "1.6",
        "1.6-a",
        ACT,
        "Der oprettes inden udgangen af 2009 i alt 30 integrationsstillinger "
        "fordelt på alle forvaltninger i Københavns Kommune.",
        "integrationsstillinger",
        "antal",
        "mindst",
        30,
        None,
        "seneste",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.6",
        "1.6-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.7's three numbered activity targets.
    (
        "1.7",
        "1.7-a",
        ACT,
        "1) 200 medarbejdere om året gennemfører kursusdage.",
        "kursister",
        "antal",
        "mindst",
        200,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.7",
        "1.7-b",
        ACT,
        "2) 20 medarbejdere gennemfører 2 moduler i en diplomuddannelse om året.",
        "diplomuddannelse",
        "antal",
        "mindst",
        20,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.7",
        "1.7-c",
        ACT,
        "3) 25 medarbejdere om året gennemfører en mentoruddannelse.",
        "mentoruddannelse",
        "antal",
        "mindst",
        25,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.7",
        "1.7-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.8 "… udvikles og implementeres i løbet af 2009."
    (
        "1.8",
        "1.8-a",
        MILE,
        "Brugertilpassede hjælpeværktøjer til selvbetjening via internettet, "
        "digitale hjælpeværktøjer på jobcentre og sygedagpengecentre samt sammenkobling af "
        "selvbetjeningsværktøjer og mobile telefoner og PC'er udvikles og implementeres i løbet "
        "af 2009.",
        None,
        "milepæl",
        None,
        None,
        None,
        None,
        None,
        "2009Q1",
        "2009Q4",
        date(2009, 12, 31),
    ),
    (
        "1.8",
        "1.8-r",
        RES,
        R_1_8,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.9 "Der oprettes 200 vejledningsforløb og 100 løntilskudspladser i 2009."
    # Both counted `sum`: a forløb is created once, so quarters add up. (As `seneste` the
    # cumulative 170 would be held against the full-year 200 already in Q3 and a count the
    # seed calls on course would show as off track.)
    (
        "1.9",
        "1.9-a",
        ACT,
        "Der oprettes 200 vejledningsforløb i 2009.",
        "vejledningsforløb",
        "antal",
        "mindst",
        200,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.9",
        "1.9-b",
        ACT,
        "Der oprettes 100 løntilskudspladser i 2009.",
        "løntilskud",
        "antal",
        "mindst",
        100,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.9",
        "1.9-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 1.10 "mindst 100 jobklub - forløb, hvoraf ca. 50 suppleres med udslusnings - /
    # opfølgingsforløb". The seed reports nothing on the ca. 50, so 1.10-b is `no_data`.
    (
        "1.10",
        "1.10-a",
        ACT,
        "Der gennemføres mindst 100 jobklub - forløb.",
        "booket",
        "antal",
        "mindst",
        100,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.10",
        "1.10-b",
        ACT,
        "Ca. 50 jobklub - forløb suppleres med udslusnings - / opfølgingsforløb.",
        "opfølgning",
        "antal",
        "mindst",
        "ca. 50",
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "1.10",
        "1.10-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 2.1 "200 fleksible familieforløb af op til 6 måneders varighed" (no year: 2009).
    (
        "2.1",
        "2.1-a",
        ACT,
        "Der skal gennemføres 200 fleksible familieforløb af op til 6 "
        "måneders varighed for målgruppen.",
        "forløb",
        "antal",
        "mindst",
        200,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "2.1",
        "2.1-r",
        RES,
        R_2_1,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 2.2 "Der ansættes 4 nye opsøgende jobkonsulenter senest i januar 2009."
    (
        "2.2",
        "2.2-a",
        MILE,
        "Forløbene oprettes med henblik på at optage kursister i januar "
        "2009. Der ansættes 4 nye opsøgende jobkonsulenter senest i januar 2009.",
        None,
        "milepæl",
        None,
        None,
        None,
        None,
        None,
        "2009Q1",
        "2009Q4",
        date(2009, 1, 31),
    ),
    (
        "2.2",
        "2.2-b",
        ACT,
        "De gennemfører årligt vejledning for 480 unge.",
        "vejledninger",
        "antal",
        "mindst",
        480,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "2.2",
        "2.2-r",
        RES,
        R_JOBPLAN,
        "ekstra_beskæftigede",
        "antal",
        "mindst",
        "ca. 2.000",
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 2.3's three numbered activity targets. 1) is a count of cases in progress at the
    # quarter's end ("Der er pt. …"), so `seneste`. 2) has neither number nor date: it is a
    # milestone due with the agreement year (our choice; the seed gives no date).
    (
        "2.3",
        "2.3-a",
        ACT,
        "1) Mindst 50 borgere tilbydes afklarende, fleksible forløb i 2009 "
        "tilpasset individuelle behov.",
        "tilbudt_afklaring",
        "antal",
        "mindst",
        50,
        None,
        "seneste",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "2.3",
        "2.3-b",
        MILE,
        "2) Der afsættes midler til f.eks. informationspjecer til personer med "
        "handicap og deres familier, samt til virksomheder og deres medarbejdere om mulighederne "
        "for at ansætte personer med handicap.",
        None,
        "milepæl",
        None,
        None,
        None,
        None,
        None,
        "2009Q1",
        "2009Q4",
        date(2009, 12, 31),
    ),
    (
        "2.3",
        "2.3-c",
        ACT,
        "3) Mindst 50 virksomheder / uddannelsesinstitutioner tilbydes "
        "information om personer med handicap og deres ressourcer i forhold til "
        "arbejdsmarkedet eller uddannelsessystemet.",
        "virksomheder",
        "antal",
        "mindst",
        50,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    # 2.4 "… for mindst 40 personer om året."
    (
        "2.4",
        "2.4-a",
        ACT,
        "Der etableres og gennemføres kombinationstilbud med "
        "virksomhedsplacering og behandlingstilbud, for mindst 40 personer om året.",
        "forløb",
        "antal",
        "mindst",
        40,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    # 3.1 "… i alt 60-70 nye fritidsjob": an interval, upper bound in Målværdi maks.
    (
        "3.1",
        "3.1-a",
        ACT,
        "Der oprettes inden udgangen af 2009 i alt 60-70 nye fritidsjob på "
        "tværs af alle forvaltninger i Københavns Kommune.",
        "fritidsjob",
        "antal",
        "interval",
        60,
        70,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    # 3.1's own number in its result text: "60-70 unge årligt afklares".
    (
        "3.1",
        "3.1-r",
        RES,
        R_3_1,
        "afklarede_unge",
        "antal",
        "interval",
        60,
        70,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    # 3.2 "… aftaler om mindst 50 praktikindslningsforløb" (no year: 2009).
    (
        "3.2",
        "3.2-a",
        ACT,
        "Der etableres aftaler om mindst 50 praktikindslningsforløb for unge "
        "indvandrere og efterkommere.",
        "forløb",
        "antal",
        "mindst",
        50,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    # "500 flere unge … i gang med en ungdomsuddannelse" by the end of 2010 (3.4's wording).
    (
        "3.2",
        "3.2-r",
        RES,
        R_3_2,
        "unge_i_uddannelse",
        "antal",
        "mindst",
        500,
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 3.3 "Praktikpladsbørsen oprettes og færdigudvikles ultimo 2009."
    (
        "3.3",
        "3.3-a",
        MILE,
        "Praktikpladsbørsen oprettes og færdigudvikles ultimo 2009.",
        None,
        "milepæl",
        None,
        None,
        None,
        None,
        None,
        "2009Q1",
        "2009Q4",
        date(2009, 12, 31),
    ),
    # "30 ekstra elev- og praktikstillinger … i 2009, stigende til 50 pladser i 2011":
    # two targets on one metric, a level (`seneste`). The 2011 one runs from 2009Q1 to
    # 2011Q4 and moves from a baseline of 0 extra places, so its expected level grows
    # along the way (its window is written the way a Danish user might: "4. kvartal 2011").
    (
        "3.3",
        "3.3-b",
        ACT,
        "Der etableres 30 ekstra elev- og praktikstillinger i Københavns Kommune i 2009.",
        "ekstra_pladser",
        "antal",
        "mindst",
        30,
        None,
        "seneste",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "3.3",
        "3.3-c",
        ACT,
        "Antallet af ekstra elev- og praktikstillinger stiger til 50 pladser i 2011.",
        "ekstra_pladser",
        "antal",
        "mindst",
        50,
        None,
        "seneste",
        0,
        "1. kvartal 2009",
        "4. kvartal 2011",
        None,
    ),
    (
        "3.3",
        "3.3-r",
        RES,
        R_3_3,
        "elev_praktikpladser",
        "antal",
        "mindst",
        500,
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
    # 3.4 "Mindst 50 unge … skal virksomhedsplaceres via projektet." (no year: 2009)
    (
        "3.4",
        "3.4-a",
        ACT,
        "Mindst 50 unge med kriminel baggrund eller med risiko for "
        "kriminalitet skal virksomhedsplaceres via projektet.",
        "placeret",
        "antal",
        "mindst",
        50,
        None,
        "sum",
        None,
        "2009Q1",
        "2009Q4",
        None,
    ),
    (
        "3.4",
        "3.4-r",
        RES,
        R_3_4,
        "unge_i_uddannelse",
        "antal",
        "mindst",
        500,
        None,
        "seneste",
        None,
        "2009Q1",
        "2010Q4",
        None,
    ),
]

# --- The seed's status texts, word for word, for the Q3 rows' Kommentar ---------------
# Simple HTML kept as the seed has it; where the seed's `<ol>` numbers its items inline
# ("1) …") without `<li>`, the items are wrapped in `<li>` so the list is well formed.
STATUS = {
    "1.1": "86 pct. ud af målgruppen er aktiveret indenfor 6 måneder. Det forventes, at målet "
    "om 90 pct. er nået inden årets udgang.",
    "1.2": "Arbejdet forløber planmæssigt med en mindre forsinkelse. Alle 350 pladser vil være "
    "oprettet i løbet af 2009 som forudsat. Det svarer til 1400 forløb årligt fra og "
    "med 2010. Hertil kommer yderligere 400 forløb fra initiativet i mindre "
    "partnerskabsvirksomheder, 1.3. Der henvises i øvrigt til bilag 2.",
    "1.3": "Der er pr. 3. kvartal gennemført i alt 211 forløb via beskæftigelsescentrene. Fuld "
    "udmøntning af puljen svarer til 400 partnerskabspraktikker i 2009. Det forventede "
    "antal gennemførte praktikforløb i 4. kvartal er 100, hvormed der i alt i 2009 "
    "forventes gennemført 311 forløb i 2009.",
    "1.4": "Jobbussen har ved udgangen af 3. kvartal været ude på 14 ture med i alt 71 "
    "deltagere. De relativt få ture og deraf få deltagere skyldes meget lav "
    "efterspørgsel fra virksomheder som følge af konjunkturændringen.",
    "1.5": "Der er ved udgangen af 3. kvartal henvist og startet i alt 147 personer i forløb. "
    "43 forløb er ved udgangen af 3. kvartal afsluttede. Det forventes, at der i alt "
    "henvises 200 borgere til KIA-pro i 2009. Ud af de i alt 43 afsluttede forløb i år, "
    "er 28 pct. raskmeldt til arbejdsgiver, 15 pct. delvist raskmeldte til arbejdsplads, "
    "mens 9 pct. er raskmeldte til a-kasse og 2 pct. til kontanthjælp. De resterende 46 "
    "pct. er fortsat sygemeldte efter afslutning af 3 måneders forløb hos KIA pro.",
    "1.6": "Indstilling er godkendt i BR den 2. april 2009 (2009-19598) og implementeres af "
    "Økonomiforvaltningen. Der er pt. 31. integrationsstillinger.",
    "1.7": "<p>Ad.1: Der er afholdt fem grundtræningskursusforløb af tre dages varighed og tre "
    "introduktionskurser af to dage. I alt har 97 medarbejdere deltaget i ét af de to "
    "forløb svarende til mere end 200 afholdte kursusdage. Det forventes, at "
    "grundtræningsforløbet gentages én gang i fjerde kvartal 2009. Det samlede "
    "deltagerantal forventes dermed at blive ca. 115.</p> <p>Ad.2: 8 medarbejdere fra "
    "BIF har i 2009 deltaget i diplomuddannelse for medarbejdere, som arbejder med "
    "marginaliserede ledige med særligt fokus på etniske minoriteter. Der forventes "
    "tilsvarende deltagelse i 2010.</p> <p>Ad.3: Det er vurderingen, at der pt. ikke "
    "vil kunne samles et tilstrækkeligt antal deltagere til et mentorforløb. Der "
    "gennemføres i første halvår 2010 en fornyet vurdering af mulighederne for at "
    "etablere og gennemføre et mentorforløb.</p>",
    "1.8": "<p>Det er valgt at koncentrere indsatsen i 2009 om 3 projekter:</p> "
    '<ol style="list-style-type: none"><li>1) <i>Jobspor</i>: Jobspor-systemet '
    "understøtter den enkelte borgers uddannelses-/erhvervsvalg. Det er under "
    "implementering i jobcentrene.</li> <li>2) <i>SMS-indkaldelse</i>: Borgere vil fra "
    "og med februar 2010 kunne modtage SMS-påmindelser om samtaler i jobcentret.</li> "
    "<li>3) <i>E-blanketter</i>: I samarbejde med Borgerservice anvendes elektroniske "
    "blanketter fra november 2009.</li></ol>",
    "1.9": "Der er medio august oprettet 170 vejledningsforløb, og målsætningen på 200 forløb "
    "forventes at blive opnået. Der er etableret et godt samarbejde med flere "
    "sprogskoler hvilket styrker søgningen til tilbuddet. I 3. kvartal 2009 blev der "
    "oprettet 43 løntilskudsforløb til familieforsørgede. Samlet status for 2009 er "
    "indtil videre 102 løntilskudsforløb.",
    "1.10": "I 3. kvartal 2009 er 7 borgere booket i jobklubberne. I 1. og 2. kvartal er 75 "
    "borgere booket i jobklubberne. I alt er 82 borgere dermed booket i jobklubberne. "
    "Det forventes, at målet om at gennemføre mindst 100 forløb nås. Aktiviteten "
    "forventes at være på samme niveau i 2010.",
    "2.1": "Der vurderes at være iværksat i alt 243 forløb for målgruppen ved udgangen af "
    "3.kvartal. Heraf har 90 kvinder i målgruppen matchet 1-3 været tilknyttet projektet "
    "på CBSI på Hejrevej. Ca. 153 kvinder i målgruppen matchet 4-5 været i forløb ved "
    "ekstern leverandør.",
    "2.2": "Der er ansat 4 nye opsøgende jobkonsulenter, hvoraf de 2 blev ansat 1. kvartal "
    "2009. Sammenlagt forventes gennemført ca. 400 vejledninger inden året er omme.",
    "2.3": "<p>Ad 1) Der er pt. 97 sager med dokumentation/diagnosticering af funktions-"
    "indskrænkning. 33 sager med tilbud om reva- eller afklaring via kontakt til "
    "leverandører. 16 sager under lægelig afklaring/behandling. 39 sager uafklarede. 9 "
    "sager i gang med revalidering. 44 sager er tilkendt fleksjob.</p> <p>Der er "
    "udarbejdet skitser over de funktionsindskrænkninger, som p.t. er fundet relevante "
    "at medtage i indsatsen.</p> <p>Ad 2) Der er udarbejdet informationsmateriale til "
    "jobcentermedarbejdere. Der arbejdes på at udvikle informationsmateriale til "
    "virksomheder som der er indgået partnerskabsaftaler med, herunder medarbejdere om "
    "mulighederne for ansættelse af personer med handicap.</p> <p>Ad 3) Brev til "
    "virksomheder samt informationsmateriale er udarbejdet. Det undersøges i øjeblikket "
    "hvilke virksomheder, der skal tilbydes information. Det forventes at ca. 25 "
    "virksomheder ved udgangen af 2009 har fået tilbudt informationsmateriale.</p>",
    "2.4": "Der er indgået en samarbejdsaftale med Psykiatrifonden om forløb for unge match 3-4 "
    "med psykiske problemstillinger. Der er pt. igangsat 25 forløb og det vurderes at "
    "det samlede mål for 2009 nås.",
    "3.1": "I løbet af 2. og 3. kvartal er der etableret 75 fritidsjob på tværs af kommunens "
    "syv forvaltninger. 23 unge er blevet ansat, hvoraf 35 % har nydansk baggrund. "
    "Værestedet Fisker, Ungdomsrådet og fodboldholdet i Akacieparken, Hotspot "
    '(lektiehjælpere og rollemodeller) samt helhedsplanen "Akacieparken på vej" har '
    "fået bevilget 15 stillinger. Det vurderes, at disse ansætter unge fra deres eget "
    "boligområde, og at der er tale om udsatte unge. Mindst 45 af fritidsjobbene, er "
    'åbne overfor unge med "plettestraffeattest..',
    "3.2": "Der er indgået samarbejdsaftale med bl.a. Slagteriskolen i Roskilde samt "
    "teknologisk Institut. Der er i alt tilvejebragt 22 forløb pr. 3. kvartal.",
    "3.3": "<p>Indstillingen om indsatsen er godkendt af Borgerrepræsentationen (BR "
    "2009-19598) og Økonomiforvaltningen har forlængelse heraf indgået aftale med "
    "IT-leverandøren, Manowa, om oprettelsen af praktikbørsen. Børsen er færdigudviklet "
    "inden udgangen af 2009, og den vil kunne tilvejebringe et overblik over "
    "praktikpladsåbninger.</p> <p>Frem til 2010 er der ansat en række elever og "
    "lærlinge, således at der samlet er sket en forøgelse med ca. 50 elever og lærlinge. "
    "De bedst kvalificerede ansøgere ansættes, men erfaringen viser, at en stor del af "
    "ansøgerne, og de endeligt ansatte, er elever med anden etnisk baggrund end dansk. "
    "Indkaldescirkulæret for 2010 sikrer, at dette niveau opretholdes.</p> <p>Som led "
    "regeringens ungepakke af den 4. september 2009 pågår der desuden forhandlinger med "
    "KL om en øgning af Københavns samlede antal praktikpladser. Som led i disse "
    "forhandlinger vil den samlede udmøntning af indsatsen udfoldes, således at der i "
    "2011 er sket en forøgelse på yderligere godt 50 elev- og praktikstillinger.</p>",
    "3.4": "<p>Samlet set er 56 antal unge med kriminel baggrund eller med risiko for "
    "kriminalitet (de såkaldt gråzone - kriminelle) påbegyndt uddannelse eller ordinær "
    "beskæftigelse eller er blevet virksomhedsplaceret gennem projektet.</p> <p>Tallene "
    "fordeler sig således for 3. kvartal (hele året i ()):</p> <p>Løntilskud: 2 (8) "
    "Praktik: 3 (27) Uddannelse: 6 (12) Ordinær beskæftigelse: 3 (9) I alt: 14 (56)</p>",
}

FIGURE_HEADER = list(FIGURE_COLUMNS)

# --- The figures, one list per reporting centre -----------------------------------------
# Nr., Nøgletal, Kvartal, Værdi, Tæller, Nævner, Forventet, Mål-id, Milepæl nået, Kommentar
# Each centre writes Kvartal its own way (all spellings CONTRACT §1 accepts); the folder a
# row lands in is the quarter it names.

# Windows-1252 CSV with `;` and Danish numbers, as Danish Excel saves "CSV (semikolon)".
# All cells are text.
JOBINDSATS_ROWS = [
    # 1.1 "86 pct. ud af målgruppen er aktiveret indenfor 6 måneder." Q3 as Tæller/Nævner:
    # 100 × 1.032 / 1.200 = 86,0 (agrees with Værdi 86 exactly). "Det forventes, at målet
    # om 90 pct. er nået inden årets udgang." → Forventet 90. Q1 84,5 and Q2 85 (969/1.140
    # = 85,0) are our choice: the seed gives only Q3.
    ("1.1", "aktiveret_6_mdr", "2009K1", "84,5 pct.", "", "", "", "", "", ""),
    ("1.1", "aktiveret_6_mdr", "2009K2", "85 %", "969", "1.140", "", "", "", ""),
    ("1.1", "aktiveret_6_mdr", "2009K3", "86 pct.", "1.032", "1.200", "90", "", "", STATUS["1.1"]),
    # 1.2 "Arbejdet forløber planmæssigt med en mindre forsinkelse. Alle 350 pladser vil
    # være oprettet i løbet af 2009": the agreements due before the summer are not all in
    # place by the end of Q3, so the milestone is not reached ("nej").
    ("1.2", "", "2009K3", "", "", "", "", "1.2-a", "nej", STATUS["1.2"]),
    # 1.4 "… været ude på 14 ture med i alt 71 deltagere." The split over quarters is our
    # choice: ture 5 + 5 + 4 = 14, deltagere 25 + 26 + 20 = 71.
    ("1.4", "ture", "2009K1", "5", "", "", "", "", "", ""),
    ("1.4", "deltagere", "2009K1", "25", "", "", "", "", "", ""),
    ("1.4", "ture", "2009K2", "5", "", "", "", "", "", ""),
    ("1.4", "deltagere", "2009K2", "26", "", "", "", "", "", ""),
    ("1.4", "ture", "2009K3", "4", "", "", "", "", "", ""),
    ("1.4", "deltagere", "2009K3", "20", "", "", "", "", "", STATUS["1.4"]),
    # 1.10 "I 1. og 2. kvartal er 75 borgere booket … I 3. kvartal 2009 er 7 borgere booket"
    # (Q1 40 + Q2 35 = 75 is our split). "Det forventes, at målet om at gennemføre mindst
    # 100 forløb nås." → Forventet 100.
    ("1.10", "booket", "2009K1", "40", "", "", "", "", "", ""),
    ("1.10", "booket", "2009K2", "35", "", "", "", "", "", ""),
    ("1.10", "booket", "2009K3", "7", "", "", "100", "", "", STATUS["1.10"]),
]

# .xlsx, sheet `Tal` after a cover sheet; header on row 2 below an empty row; an extra
# column the pipeline must keep out of the way. Numbers are numeric cells.
BESKAEFTIGELSE_ROWS = [
    # 1.3 "pr. 3. kvartal gennemført i alt 211 forløb" = 48 + 71 + 92 (split ours);
    # "i alt i 2009 forventes gennemført 311 forløb" → Forventet 311. The milestone
    # "Puljen … udmøntes inden udgangen af 2009" is not reached yet (211 of 400).
    ("1.3", "forløb", "2009Q1", 48, None, None, None, None, None, None),
    ("1.3", "forløb", "2009Q2", 71, None, None, None, None, None, None),
    ("1.3", "forløb", "2009Q3", 92, None, None, 311, None, None, STATUS["1.3"]),
    ("1.3", None, "2009Q3", None, None, None, None, "1.3-a", "nej", None),
    # 1.5 "henvist og startet i alt 147 personer" = 45 + 50 + 52 (split ours). The seed's
    # "forventes … 200 borgere" is NOT written as Forventet: CONTRACT §5's worked example
    # for 1.5 forecasts 196 = 147 × 4 / 3 from the figures alone. The sentence stays in
    # the status text.
    ("1.5", "henviste", "2009Q1", 45, None, None, None, None, None, None),
    ("1.5", "henviste", "2009Q2", 50, None, None, None, None, None, None),
    ("1.5", "henviste", "2009Q3", 52, None, None, None, None, None, STATUS["1.5"]),
    # 1.9 "medio august oprettet 170 vejledningsforløb" = 55 + 70 + 45 (split ours; the Q3
    # figure is as of mid-August); "målsætningen på 200 forløb forventes at blive opnået"
    # → Forventet 200. "I 3. kvartal 2009 … 43 løntilskudsforløb … indtil videre 102"
    # → Q1 + Q2 = 59 = 27 + 32 (split ours).
    ("1.9", "vejledningsforløb", "2009Q1", 55, None, None, None, None, None, None),
    ("1.9", "løntilskud", "2009Q1", 27, None, None, None, None, None, None),
    ("1.9", "vejledningsforløb", "2009Q2", 70, None, None, None, None, None, None),
    ("1.9", "løntilskud", "2009Q2", 32, None, None, None, None, None, None),
    ("1.9", "vejledningsforløb", "2009Q3", 45, None, None, 200, None, None, STATUS["1.9"]),
    ("1.9", "løntilskud", "2009Q3", 43, None, None, None, None, None, None),
    # 2.1 "Der vurderes at være iværksat i alt 243 forløb" = 70 + 85 + ca. 88 (split ours;
    # the Q3 figure is an estimate, "vurderes", so it is written "ca.").
    ("2.1", "forløb", "2009Q1", 70, None, None, None, None, None, None),
    ("2.1", "forløb", "2009Q2", 85, None, None, None, None, None, None),
    ("2.1", "forløb", "2009Q3", "ca. 88", None, None, None, None, None, STATUS["2.1"]),
    # 2.4 "Der er pt. igangsat 25 forløb" = 5 + 9 + 11 (split ours); "det vurderes at det
    # samlede mål for 2009 nås" → Forventet 40.
    ("2.4", "forløb", "2009Q1", 5, None, None, None, None, None, None),
    ("2.4", "forløb", "2009Q2", 9, None, None, None, None, None, None),
    ("2.4", "forløb", "2009Q3", 11, None, None, 40, None, None, STATUS["2.4"]),
]

# .ods. Headers as a centre might type them (no full stop after Nr, other case).
UNGE_ROWS = [
    # 2.2 "Der er ansat 4 nye opsøgende jobkonsulenter, hvoraf de 2 blev ansat 1. kvartal
    # 2009": the last were hired in Q1; the seed gives no day, so the quarter's last day
    # is the reached date, after the due date 31 January: achieved, late.
    ("2.2", None, "1. kvartal 2009", None, None, None, None, "2.2-a", date(2009, 3, 31), None),
    # "Sammenlagt forventes gennemført ca. 400 vejledninger" → Forventet "ca. 400". The
    # quarterly counts 80 + 95 + 111 = 286 are our choice (the seed gives none); they leave
    # about 114 for Q4, in line with the forecast.
    ("2.2", "vejledninger", "1. kvartal 2009", 80, None, None, None, None, None, None),
    ("2.2", "vejledninger", "2. kvartal 2009", 95, None, None, None, None, None, None),
    (
        "2.2",
        "vejledninger",
        "3. kvartal 2009",
        111,
        None,
        None,
        "ca. 400",
        None,
        None,
        STATUS["2.2"],
    ),
    # 3.1 "I løbet af 2. og 3. kvartal er der etableret 75 fritidsjob" = 40 + 35 (split
    # ours); no Q1 row, the jobs started in Q2.
    ("3.1", "fritidsjob", "2. kvartal 2009", 40, None, None, None, None, None, None),
    ("3.1", "fritidsjob", "3. kvartal 2009", 35, None, None, None, None, None, STATUS["3.1"]),
    # 3.2 "Der er i alt tilvejebragt 22 forløb pr. 3. kvartal" = 4 + 8 + 10 (split ours).
    ("3.2", "forløb", "1. kvartal 2009", 4, None, None, None, None, None, None),
    ("3.2", "forløb", "2. kvartal 2009", 8, None, None, None, None, None, None),
    ("3.2", "forløb", "3. kvartal 2009", 10, None, None, None, None, None, STATUS["3.2"]),
    # 3.4 "Løntilskud: 2 (8) Praktik: 3 (27) Uddannelse: 6 (12) Ordinær beskæftigelse: 3 (9)
    # I alt: 14 (56)". Q3 is the seed's; Q1 + Q2 are the year less Q3 (løntilskud 8-2 = 6,
    # praktik 27-3 = 24, uddannelse 12-6 = 6, ordinær 9-3 = 6: 42), split by us as
    # Q1 3 + 11 + 2 + 4 = 20 and Q2 3 + 13 + 4 + 2 = 22.
    ("3.4", "placeret", "1. kvartal 2009", 20, None, None, None, None, None, None),
    ("3.4", "placeret/løntilskud", "1. kvartal 2009", 3, None, None, None, None, None, None),
    ("3.4", "placeret/praktik", "1. kvartal 2009", 11, None, None, None, None, None, None),
    ("3.4", "placeret/uddannelse", "1. kvartal 2009", 2, None, None, None, None, None, None),
    (
        "3.4",
        "placeret/ordinær beskæftigelse",
        "1. kvartal 2009",
        4,
        None,
        None,
        None,
        None,
        None,
        None,
    ),
    ("3.4", "placeret", "2. kvartal 2009", 22, None, None, None, None, None, None),
    ("3.4", "placeret/løntilskud", "2. kvartal 2009", 3, None, None, None, None, None, None),
    ("3.4", "placeret/praktik", "2. kvartal 2009", 13, None, None, None, None, None, None),
    ("3.4", "placeret/uddannelse", "2. kvartal 2009", 4, None, None, None, None, None, None),
    (
        "3.4",
        "placeret/ordinær beskæftigelse",
        "2. kvartal 2009",
        2,
        None,
        None,
        None,
        None,
        None,
        None,
    ),
    ("3.4", "placeret", "3. kvartal 2009", 14, None, None, None, None, None, STATUS["3.4"]),
    ("3.4", "placeret/løntilskud", "3. kvartal 2009", 2, None, None, None, None, None, None),
    ("3.4", "placeret/praktik", "3. kvartal 2009", 3, None, None, None, None, None, None),
    ("3.4", "placeret/uddannelse", "3. kvartal 2009", 6, None, None, None, None, None, None),
    (
        "3.4",
        "placeret/ordinær beskæftigelse",
        "3. kvartal 2009",
        3,
        None,
        None,
        None,
        None,
        None,
        None,
    ),
]

# UTF-8 CSV with BOM, separated by `,` (Excel's "CSV UTF-8"); the csv module quotes the
# status texts that hold commas. All cells are text.
BIF_ROWS = [
    # 1.7 "I alt har 97 medarbejdere deltaget" = 30 + 41 + 26 (split ours); "Det samlede
    # deltagerantal forventes dermed at blive ca. 115" → Forventet "ca. 115".
    # "8 medarbejdere fra BIF har i 2009 deltaget i diplomuddannelse" (all in the spring
    # module, our choice); mentoruddannelse: "der pt. ikke vil kunne samles et tilstrækkeligt
    # antal deltagere" → 0 every quarter.
    ("1.7", "kursister", "2009Q1", "30", "", "", "", "", "", ""),
    ("1.7", "diplomuddannelse", "2009Q1", "8", "", "", "", "", "", ""),
    ("1.7", "mentoruddannelse", "2009Q1", "0", "", "", "", "", "", ""),
    ("1.7", "kursister", "2009Q2", "41", "", "", "", "", "", ""),
    ("1.7", "diplomuddannelse", "2009Q2", "0", "", "", "", "", "", ""),
    ("1.7", "mentoruddannelse", "2009Q2", "0", "", "", "", "", "", ""),
    ("1.7", "kursister", "2009Q3", "26", "", "", "ca. 115", "", "", STATUS["1.7"]),
    ("1.7", "diplomuddannelse", "2009Q3", "0", "", "", "", "", "", ""),
    ("1.7", "mentoruddannelse", "2009Q3", "0", "", "", "", "", "", ""),
    # 1.8: Jobspor "under implementering", SMS "fra og med februar 2010", e-blanketter "fra
    # november 2009": not reached by the end of Q3, due 31 December.
    ("1.8", "", "2009Q3", "", "", "", "", "1.8-a", "nej", STATUS["1.8"]),
    # 2.3 1) "33 sager med tilbud om reva- eller afklaring" (pt.); 2) material for the
    # jobcentres done, for the companies still being written → not reached; 3) "Det
    # undersøges i øjeblikket hvilke virksomheder, der skal tilbydes information" → 0 so
    # far; "Det forventes at ca. 25 virksomheder ved udgangen af 2009 har fået tilbudt
    # informationsmateriale" → Forventet "ca. 25".
    ("2.3", "tilbudt_afklaring", "2009Q3", "33", "", "", "", "", "", STATUS["2.3"]),
    ("2.3", "", "2009Q3", "", "", "", "", "2.3-b", "nej", ""),
    ("2.3", "virksomheder", "2009Q3", "0", "", "", "ca. 25", "", "", ""),
]

# .xlsx with the sheet named `Tal`; Kvartal written "2009-Q3".
OEKONOMI_ROWS = [
    # 1.6 "Der er pt. 31. integrationsstillinger." The Q2 level 12 is our choice (the
    # recommendation was approved on 2 April 2009, so no Q1 figure).
    ("1.6", "integrationsstillinger", "2009-Q2", 12, None, None, None, None, None, None),
    ("1.6", "integrationsstillinger", "2009-Q3", 31, None, None, None, None, None, STATUS["1.6"]),
    # 3.3 "samlet er sket en forøgelse med ca. 50 elever og lærlinge" → level "ca. 50"; it
    # feeds both 3.3-b (30 in 2009) and 3.3-c (50 in 2011), as the row names no Mål-id.
    # "Børsen er færdigudviklet inden udgangen af 2009" (future) → not reached yet.
    ("3.3", "ekstra_pladser", "2009-Q3", "ca. 50", None, None, None, None, None, STATUS["3.3"]),
    ("3.3", None, "2009-Q3", None, None, None, None, "3.3-a", "nej", None),
]

# file name, format, header as the centre writes it, rows
CENTRES = [
    (f"{JOBINDSATS}.csv", "csv-cp1252", FIGURE_HEADER, JOBINDSATS_ROWS),
    (f"{BESKAEFTIGELSE}.xlsx", "xlsx-cover", FIGURE_HEADER + ["Intern note"], BESKAEFTIGELSE_ROWS),
    (
        f"{UNGE}.ods",
        "ods",
        [
            "Nr",
            "nøgletal",
            "KVARTAL",
            "Værdi ",
            "Tæller",
            "Nævner",
            "Forventet",
            "Mål-id",
            "Milepæl nået",
            "Kommentar",
        ],
        UNGE_ROWS,
    ),
    (f"{BIF}.csv", "csv-utf8-bom", FIGURE_HEADER, BIF_ROWS),
    (f"{OEKONOMI}.xlsx", "xlsx", FIGURE_HEADER, OEKONOMI_ROWS),
]


def catalogue_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for (
        nr,
        target_id,
        kind,
        text,
        metric,
        unit,
        direction,
        value,
        value_max,
        aggregation,
        baseline,
        start,
        end,
        due,
    ) in CATALOGUE:
        rows.append(
            [
                AGREEMENT,
                THEMES[nr.split(".")[0]],
                nr,
                TITLES[nr],
                target_id,
                # Milestones are activity targets in the seed's sense (Indsatsmål) with a date.
                "Indsatsmål" if kind == MILE else kind,
                text,
                metric,
                unit,
                direction,
                value,
                value_max,
                aggregation,
                baseline,
                start,
                end,
                due,
                RESPONSIBLE[nr],
            ]
        )
    return rows


def write_xlsx(path: Path, sheets: list[tuple[str, list[list[object]]]]) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(value, str):
                    # Store "1.10" and "1.800" as text, never let a reader guess a number.
                    cell.data_type = "s"
    wb.properties.creator = "kvartal examples"
    wb.properties.created = STAMP
    wb.save(path)
    # openpyxl stamps `modified` with the clock on save; pin it with the zip times.
    _pin_zip(path, {"docProps/core.xml": _pin_core_modified})


def _pin_core_modified(xml: bytes) -> bytes:
    import re

    return re.sub(
        rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
        rb"\g<1>2009-11-26T12:00:00Z\g<2>",
        xml,
    )


def write_ods(path: Path, title: str, rows: list[list[object]]) -> None:
    doc = OpenDocumentSpreadsheet()
    # A date cell needs a date style, or Calc shows its serial number (39903), which is
    # not what a centre's clerk would have typed or seen.
    date_style = DateStyle(name="N-dato")
    for part in (
        Year(style="long"),
        NumberText(text="-"),
        Month(style="long"),
        NumberText(text="-"),
        Day(style="long"),
    ):
        date_style.addElement(part)
    doc.automaticstyles.addElement(date_style)
    date_cell = Style(name="ce-dato", family="table-cell", datastylename="N-dato")
    doc.automaticstyles.addElement(date_cell)
    table = Table(name=title)
    for row in rows:
        tr = TableRow()
        for value in row:
            if value is None or value == "":
                tc = TableCell()
            elif isinstance(value, date):
                tc = TableCell(valuetype="date", datevalue=value.isoformat(), stylename=date_cell)
                tc.addElement(P(text=value.isoformat()))
            elif isinstance(value, int | float):
                tc = TableCell(valuetype="float", value=value)
                tc.addElement(P(text=str(value)))
            else:
                tc = TableCell(valuetype="string")
                tc.addElement(P(text=str(value)))
            tr.addElement(tc)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    _pin_zip(path, {})


def write_csv(
    path: Path, header: list[str], rows: list[tuple[object, ...]], *, encoding: str, delimiter: str
) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))


def _pin_zip(path: Path, rewrite: dict[str, object]) -> None:
    """Rewrite a zip with fixed entry times, so the same rows give the same bytes."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for info, data in entries:
            fixer = rewrite.get(info.filename)
            if fixer is not None:
                data = fixer(data)  # type: ignore[operator]
            pinned = zipfile.ZipInfo(info.filename, date_time=STAMP.timetuple()[:6])
            pinned.compress_type = info.compress_type
            pinned.external_attr = 0o644 << 16
            dst.writestr(pinned, data)


def write_inbox(root: Path) -> list[Path]:
    if root.exists():
        shutil.rmtree(root)
    written: list[Path] = []
    targets = root / "targets"
    targets.mkdir(parents=True)
    cover = [
        ["Målkatalog for Beskæftigelsesaftale 2009"],
        ["Ét mål pr. række i arket Mål. Tal indberettes pr. kvartal i arket Tal."],
    ]
    path = targets / "Målkatalog Beskæftigelsesaftale 2009.xlsx"
    write_xlsx(path, [("Vejledning", cover), ("Mål", [CATALOGUE_HEADER, *catalogue_rows()])])
    written.append(path)

    for name, fmt, header, rows in CENTRES:
        by_quarter: dict[Quarter, list[tuple[object, ...]]] = {}
        for row in rows:
            by_quarter.setdefault(Quarter.parse(row[2]), []).append(row)
        for quarter, quarter_rows in sorted(by_quarter.items()):
            folder = root / str(quarter)
            folder.mkdir(exist_ok=True)
            path = folder / name
            if fmt == "csv-cp1252":
                write_csv(path, header, quarter_rows, encoding="cp1252", delimiter=";")
            elif fmt == "csv-utf8-bom":
                write_csv(path, header, quarter_rows, encoding="utf-8-sig", delimiter=",")
            elif fmt == "ods":
                write_ods(path, "Tal", [header, *map(list, quarter_rows)])
            elif fmt == "xlsx-cover":
                front = [[f"{name.rsplit('.', 1)[0]}: indberetning {quarter.label_da}"]]
                write_xlsx(
                    path, [("Forside", front), ("Tal", [[], header, *map(list, quarter_rows)])]
                )
            else:
                write_xlsx(path, [("Tal", [header, *map(list, quarter_rows)])])
            written.append(path)
    return written


# --- Collection (CONTRACT §9) -----------------------------------------------------------
# The centres' contacts (our invention, like the centres) and when each file was delivered.
# Deadlines: 5 days after each quarter's last day, 23:59. BIF Stab delivered 2009 Q3 two
# days late; everyone else in time. Git keeps no file times, so the times are written
# twice: as the files' modification times, and in `.afleveringstider.json` (by content),
# which kvartal reads where a copy has lost the times.
CONTACTS = [
    (JOBINDSATS, "jobindsats@kommune.example", ""),
    (BESKAEFTIGELSE, "bc-nord@kommune.example; bc-syd@kommune.example", ""),
    (UNGE, "ungecentret@kommune.example", ""),
    (BIF, "bif-stab@kommune.example", ""),
    (OEKONOMI, "okf@kommune.example", ""),
]
DELIVERED = {
    "2009Q1": {
        JOBINDSATS: "2009-04-02T10:05:00+02:00",
        BESKAEFTIGELSE: "2009-04-03T14:30:00+02:00",
        UNGE: "2009-04-01T09:00:00+02:00",
        BIF: "2009-04-03T11:45:00+02:00",
    },
    "2009Q2": {
        JOBINDSATS: "2009-07-01T08:40:00+02:00",
        BESKAEFTIGELSE: "2009-07-03T13:10:00+02:00",
        UNGE: "2009-07-02T10:20:00+02:00",
        BIF: "2009-07-03T15:00:00+02:00",
        OEKONOMI: "2009-07-05T21:30:00+02:00",
    },
    "2009Q3": {
        JOBINDSATS: "2009-10-02T09:14:00+02:00",
        BESKAEFTIGELSE: "2009-10-05T15:40:00+02:00",
        UNGE: "2009-10-01T11:02:00+02:00",
        BIF: "2009-10-07T10:12:00+02:00",
        OEKONOMI: "2009-10-05T23:50:00+02:00",
    },
}


def write_collection(root: Path) -> list[Path]:
    import hashlib
    import json
    import os

    path = root / "targets" / "centre.csv"
    write_csv(path, ["Ansvarlig", "E-mail", "Fil"], CONTACTS, encoding="utf-8", delimiter=";")
    times: dict[str, dict[str, str]] = {}
    for quarter, by_centre in DELIVERED.items():
        for file in sorted((root / quarter).iterdir()):
            when = by_centre[file.stem]
            key = f"{quarter}/{file.name}"
            sha = hashlib.sha256(file.read_bytes()).hexdigest()
            times[key] = {"sha256": sha, "afleveret": when}
            stamp = datetime.fromisoformat(when).timestamp()
            os.utime(file, (stamp, stamp))
    times_path = root / ".afleveringstider.json"
    text = json.dumps(times, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    times_path.write_bytes(text.encode("utf-8"))
    return [path, times_path]


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else HERE / "inbox"
    for path in [*write_inbox(root), *write_collection(root)]:
        print(path.relative_to(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
