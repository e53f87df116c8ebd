"""The evidence map: a page people can open (checked in a real headless chromium) and a figure for papers."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from browser import chromium, missing
from conftest import ROOT, copy_project, run_dvc, tool_env
from pipeline.core.files import read_csv
from pipeline.core.settings import load_params
from pipeline.core.problems import ProblemsFound
from pipeline.report.evidence_map import DEFAULT_DPI, build
from pipeline.report.figure import figure_size
from pipeline.report.grid import LOST, SAMPLE_MAX, agreement, cell_agreement, evidence_map, read_tables
from pipeline.report.page import render_html

FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "report" / "data"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
REPORT_FILES = ("evidence-map.html", "evidence-map.svg", "evidence-map.png")


def params(data: Path = ROOT / "data") -> dict:
    settings = load_params(ROOT)
    settings["paths"]["published"] = str(data)
    return settings


def built(out: Path, data: Path = ROOT / "data") -> dict[str, bytes]:
    return {path.name: payload for path, payload in build(ROOT, params(data), out).items()}


def published_findings() -> list[dict[str, str]]:
    with open(ROOT / "data" / "findings.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The page of today's package and of the fixture package (located animal and human findings)."""
    out = {}
    for name, data in (("real", ROOT / "data"), ("fixture", FIXTURE_DATA)):
        folder = tmp_path_factory.mktemp(name)
        (folder / "evidence-map.html").write_bytes(built(folder, data)["evidence-map.html"])
        out[name] = folder / "evidence-map.html"
    return out


@pytest.fixture(scope="module")
def anatomy_page(tmp_path_factory) -> Path:
    """The page of the fixture package plus findings in sub-regions and regions outside the grid (ANATOMY)."""
    folder = tmp_path_factory.mktemp("anatomy")
    (folder / "evidence-map.html").write_bytes(built(folder, with_findings(folder, ANATOMY))["evidence-map.html"])
    return folder / "evidence-map.html"


# --- the grid -----------------------------------------------------------------------------------


def test_every_molecule_with_findings_has_one_row_grouped_by_category():
    emap = evidence_map(read_tables(ROOT / "data"))
    with_findings = {f["molecule_id"] for f in published_findings()}
    assert sorted(row.molecule["molecule_id"] for row in emap.rows) == sorted(with_findings)
    molecules = read_csv(ROOT / "data" / "molecules.csv")
    assert [m["molecule_id"] for m in emap.without_findings] == [
        m["molecule_id"] for m in molecules if m["molecule_id"] not in with_findings]
    # a fact about the review: four of its molecule rows have no finding, whatever is added later
    review = {f["molecule_id"] for f in published_findings() if f["source_id"] == "kang-2022"}
    by_label = {m["label"]: m["molecule_id"] for m in molecules}
    assert not {by_label[label] for label in ("NMDA GluN1", "Egr-1", "BDNF promotor IV", "eEF2K")} & review
    for category, rows in emap.categories:
        assert {row.molecule["category"] for row in rows} == {category}


def test_findings_whose_location_was_lost_sit_in_their_own_column_counted_by_direction():
    emap = evidence_map(read_tables(ROOT / "data"))
    counts = Counter()
    for row in emap.rows:
        for direction, mark in row.cells.get(LOST, {}).items():
            counts[direction] += mark.count
    lost = [f for f in published_findings() if f["location_status"] == "lost_in_source"]
    assert counts == Counter(f["direction"] for f in lost)
    # a fact about the review: the export lost the location of each of its 93 findings
    review = [f for f in published_findings() if f["source_id"] == "kang-2022"]
    assert {f["location_status"] for f in review} <= {"lost_in_source", "curated"}


def test_located_findings_sit_under_their_region():
    emap = evidence_map(read_tables(FIXTURE_DATA))
    bdnf = next(row for row in emap.rows if row.molecule["molecule_id"] == "bdnf")
    assert {key: {d: m.count for d, m in cell.items()} for key, cell in bdnf.cells.items()} == {
        "animal-HPC": {"increase": 2}, "human-Serum": {"increase": 1}, "human-Plasma": {"decrease": 1}}


def with_findings(folder: Path, added: list[tuple[str, str, str, str]], references: str = "PMID:55555555") -> Path:
    """The fixture package plus findings (molecule_id, region_id, population, direction), each a copy of the
    fixture's first finding of that molecule with new ids and `references`."""
    data = folder / "data"
    shutil.copytree(FIXTURE_DATA, data)
    with open(data / "findings.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, findings = reader.fieldnames, list(reader)
    for number, (molecule, region, population, direction) in enumerate(added):
        template = next(f for f in findings if f["molecule_id"] == molecule)
        findings.append({**template, "finding_id": f"fnd-added{number:07x}", "region_id": region,
                         "population": population, "direction": direction, "location_status": "curated",
                         "references": references, "citation_status": "cited", "source_row": "90",
                         "source_cell": str(number + 1)})
    with open(data / "findings.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(findings)
    return data


# Findings in sub-regions (CA1 of the review's HPC; DMS of striatum, outside the grid) and in a region
# outside the grid (human ACC), on top of the fixture's.
ANATOMY = [("bdnf", "animal-CA1", "animal", "decrease"), ("bdnf", "animal-DMS", "animal", "increase"),
           ("bdnf", "animal-striatum", "animal", "increase"), ("glutamate", "human-ACC", "human", "decrease"),
           ("glutamate", "human-pgACC", "human", "increase"), ("p-mtor", "animal-vmPFC", "animal", "increase"),
           ("ampar-truncated", "animal-HPC", "animal", "decrease")]


def test_a_sub_region_sits_in_its_parents_column_of_the_grid_and_is_named_in_the_marks_details(tmp_path):
    emap = evidence_map(read_tables(with_findings(tmp_path, ANATOMY)))
    keys = [c.key for c in emap.columns]
    assert "animal-CA1" not in keys and "animal-vmPFC" not in keys
    bdnf = next(row for row in emap.rows if row.molecule["molecule_id"] == "bdnf")
    down = bdnf.cells["animal-HPC"]["decrease"]
    assert (down.count, down.regions()) == (1, {"animal-CA1": 1})
    assert "1 in CA1 (cornu ammonis 1)" in render_html(emap, "ketamap", "1.0.0")
    # a region with a review column of its own keeps it, though it is part of another region
    glutamate = next(row for row in emap.rows if row.molecule["molecule_id"] == "glutamate")
    assert glutamate.cells["human-pgACC"]["increase"].regions() == {"human-pgACC": 1}


def test_a_region_outside_the_grid_gets_its_own_column_under_its_population_with_its_sub_regions(tmp_path):
    emap = evidence_map(read_tables(with_findings(tmp_path, ANATOMY)))
    columns = [(c.key, c.population, c.group, c.review) for c in emap.columns]
    review = [key for key, *_, is_review in columns if is_review]
    assert len(review) == 14  # the review's columns are always drawn, each where the review has it
    # per population, the review's columns first, then the others: only those a finding sits in
    assert columns[10] == ("animal-striatum", "animal", "Other regions", False)
    assert columns[15] == ("human-ACC", "human", "Other regions", False)
    assert [key for key, *_ in columns[16:]] == [LOST]  # no column for human-PFC, where no finding sits
    bdnf = next(row for row in emap.rows if row.molecule["molecule_id"] == "bdnf")
    up = bdnf.cells["animal-striatum"]["increase"]
    assert (up.count, up.regions()) == (2, {"animal-DMS": 1, "animal-striatum": 1})


def test_agreement_on_the_grid_calls_different_results_in_different_places_not_mixed(tmp_path):
    emap = evidence_map(read_tables(with_findings(tmp_path, ANATOMY)))
    agreements = {row.molecule["molecule_id"]: row.agreement for row in emap.rows}
    # BDNF: ↑ HPC, ↓ CA1 (in HPC's column): mixed there; glutamate: ↑ mPFC, ↑ pgACC, ↓ ACC, − lost
    assert agreements["bdnf"] == "mixed in 1 region"
    assert agreements["glutamate"] == "differs by region"
    assert agreements["gsk-3"] == "all down"
    assert agreements["ampar-truncated"] == "differs, location lost"  # ↓ HPC, ↑ where the source lost


@pytest.mark.parametrize("edit, code", [
    (("animal-striatum,striatum,striatum,animal,brain,,", "animal-striatum,striatum,striatum,animal,brain,animal-DMS,"),
     "region-cycle"),
    (("animal-CA1,CA1,cornu ammonis 1,animal,brain,animal-HPC,", "animal-CA1,CA1,cornu ammonis 1,animal,brain,animal-HC,"),
     "unknown-region"),
    (("animal-CA1,CA1,cornu ammonis 1,animal,brain,animal-HPC,", "animal-CA1,CA1,cornu ammonis 1,animal,brain,human-PFC,"),
     "region-population-mismatch"),
])
def test_a_part_of_link_that_leads_nowhere_or_round_in_a_circle_is_a_problem(tmp_path, edit, code):
    data = with_findings(tmp_path, ANATOMY)
    regions = data / "regions.csv"
    text = regions.read_text(encoding="utf-8")
    assert edit[0] in text
    regions.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    with pytest.raises(ProblemsFound) as raised:
        evidence_map(read_tables(data))
    assert {(p.code, p.file, p.column) for p in raised.value.problems} == {(code, "data/regions.csv", "part_of")}


@pytest.mark.parametrize("directions, word", [
    ({"increase"}, "all up"), ({"decrease"}, "all down"), ({"no_change"}, "no change"),
    ({"increase", "decrease"}, "mixed"), ({"increase", "no_change"}, "mixed"),
])
def test_a_cell_is_mixed_only_when_its_findings_differ_in_that_place(directions, word):
    assert cell_agreement(directions) == word


@pytest.mark.parametrize("cells, word", [
    ({"animal-HPC": {"increase"}}, "all up"),
    ({"animal-HPC": {"decrease"}, "human-Serum": {"decrease"}, LOST: {"decrease"}}, "all down"),
    ({LOST: {"no_change"}}, "no change"),
    ({"animal-HPC": {"increase"}, "animal-PFC": {"decrease"}}, "differs by region"),
    ({"animal-HPC": {"increase"}, "human-Serum": {"no_change"}, LOST: {"decrease"}}, "differs by region"),
    ({"animal-HPC": {"increase", "decrease"}, "animal-PFC": {"increase"}}, "mixed in 1 region"),
    ({"animal-HPC": {"increase", "decrease"}, "human-Serum": {"increase", "no_change"}}, "mixed in 2 regions"),
    ({LOST: {"increase", "decrease"}}, "differs, location lost"),
    ({"animal-HPC": {"increase"}, LOST: {"decrease"}}, "differs, location lost"),
])
def test_a_rows_agreement_is_judged_per_region_so_different_places_are_not_mixed(cells, word):
    assert agreement(cells) == word


def test_a_finding_of_an_unknown_molecule_or_region_is_a_problem_not_a_gap(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA, data)
    text = (data / "findings.csv").read_text(encoding="utf-8")
    text = text.replace(",gsk-3,", ",gsk-4,", 1).replace("human-Plasma", "human-Saliva", 1)
    (data / "findings.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ProblemsFound) as raised:
        evidence_map(read_tables(data))
    assert sorted((p.code, p.value) for p in raised.value.problems) == [
        ("unknown-molecule", "gsk-4"), ("unknown-region", "human-Saliva")]


def test_a_source_row_that_is_not_a_number_sorts_after_the_numbered_ones(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA, data)
    text = (data / "findings.csv").read_text(encoding="utf-8")
    (data / "findings.csv").write_text(text.replace(",false,40,1,", ",false,²,1,", 1), encoding="utf-8")
    emap = evidence_map(read_tables(data))  # '²' is a digit to str.isdigit, not to int()
    bdnf = next(row for row in emap.rows if row.molecule["molecule_id"] == "bdnf")
    assert [f["finding_id"] for f in bdnf.cells["animal-HPC"]["increase"].sample] == [
        "fnd-fixture00007", "fnd-fixture00006"]


def test_a_missing_table_is_reported_with_the_stage_that_builds_it(tmp_path):
    shutil.copytree(FIXTURE_DATA, tmp_path / "data")
    (tmp_path / "data" / "regions.csv").unlink()
    with pytest.raises(ProblemsFound) as raised:
        read_tables(tmp_path / "data")
    assert [p.code for p in raised.value.problems] == ["unreadable-table"]
    assert "dvc repro" in raised.value.problems[0].suggestion


def test_a_table_without_a_needed_column_is_a_problem_per_column(tmp_path):
    shutil.copytree(FIXTURE_DATA, tmp_path / "data")
    molecules = tmp_path / "data" / "molecules.csv"
    molecules.write_text(molecules.read_text(encoding="utf-8").replace("category", "kind", 1), encoding="utf-8")
    with pytest.raises(ProblemsFound) as raised:
        read_tables(tmp_path / "data")
    assert [(p.code, p.column) for p in raised.value.problems] == [("unreadable-table", "category")]


# --- the page, as text --------------------------------------------------------------------------


def test_the_page_loads_nothing_from_the_network(pages):
    page = pages["real"].read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|iframe|link|source)\b[^>]*\bsrc=", page)
    assert re.findall(r"<link\b[^>]*>", page) == ['<link rel="icon" href="data:,">']
    assert "default-src &#x27;none&#x27;" in page  # the Content-Security-Policy forbids fetching anything
    assert "@import" not in page and "url(" not in page


def test_verbatim_source_text_cannot_break_out_of_the_page(pages):
    page = pages["fixture"].read_text(encoding="utf-8")
    assert page.count("</script>") == 2  # the data block and the script, none from the source text
    assert "<b>&</b>" not in page


def test_two_builds_give_the_same_bytes(tmp_path):
    for data in (ROOT / "data", FIXTURE_DATA):
        first, second = built(tmp_path / "a", data), built(tmp_path / "elsewhere" / "b", data)
        assert first == second


def test_the_committed_reports_are_what_a_rebuild_produces(tmp_path):
    rebuilt = built(tmp_path)
    for name in REPORT_FILES:
        assert (ROOT / "reports" / name).read_bytes() == rebuilt[name], name


# --- the figure ---------------------------------------------------------------------------------


def test_the_png_is_not_blank_and_has_the_size_of_its_layout(tmp_path):
    from PIL import Image, ImageStat

    png = tmp_path / "map.png"
    png.write_bytes(built(tmp_path)["evidence-map.png"])
    image = Image.open(png)
    width, height, _ = figure_size(evidence_map(read_tables(ROOT / "data")), "ketamap", "0.1.0")
    # matplotlib rounds a half pixel down, Python's round() to even
    assert [abs(a - b * DEFAULT_DPI) <= 0.5 for a, b in zip(image.size, (width, height))] == [True, True]
    grey = image.convert("L")
    assert ImageStat.Stat(grey).var[0] > 500
    colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert (213, 94, 0) in colours and (0, 114, 178) in colours  # Okabe-Ito vermillion (up) and blue (down)


def test_the_figures_carry_no_date_and_no_software_version(tmp_path):
    files = built(tmp_path)
    assert b"<dc:date>" not in files["evidence-map.svg"]
    assert b"Matplotlib" not in files["evidence-map.svg"] and b"Matplotlib" not in files["evidence-map.png"]


# --- the page, in a real headless browser ---------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if reason := missing():
        if os.environ.get("CI"):
            pytest.fail(reason + "; .ci/run installs them when missing", pytrace=False)
        pytest.skip(reason)
    with chromium() as driver:
        yield driver


def open_page(driver, page: Path):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(1400, 1000)
    driver.get(page.as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.documentElement.dataset.ready"))
    return driver


def visible_rows(driver) -> list[str]:
    return [row.get_attribute("data-molecule") for row in driver.find_elements("css selector", "tr[data-molecule]")
            if row.is_displayed()]


def choose(driver, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", f"filter-{name}")).select_by_value(value)


def test_the_page_opens_from_file_without_console_errors_and_is_screenshotted(browser, pages):
    for name, page in pages.items():
        open_page(browser, page)
        problems = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert problems == [], f"{name}: {problems}"
    open_page(browser, pages["real"])
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "evidence-map.png"))
    browser.set_window_size(390, 844)  # a phone
    browser.save_screenshot(str(ARTIFACTS / "evidence-map-phone.png"))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "on a phone only the table scrolls sideways, not the page"
    assert (ARTIFACTS / "evidence-map.png").stat().st_size > 10_000
    assert browser.get_log("browser") == []


def test_one_row_per_molecule_with_findings(browser, pages):
    open_page(browser, pages["real"])
    rows = visible_rows(browser)
    findings = published_findings()
    molecules = {f["molecule_id"] for f in findings}
    assert len(rows) == len(set(rows)) == len(molecules)
    assert set(rows) == molecules
    assert browser.find_element("id", "status").text == (
        f"Showing {len(findings)} findings of {len(findings)} on {len(molecules)} molecules.")


def header_cells(driver) -> list[list[tuple[str, str, str]]]:
    return [[(c.text, c.get_attribute("colspan") or "1", c.get_attribute("scope"))
             for c in row.find_elements("css selector", "th")] for row in driver.find_elements("css selector", "thead tr")]


def test_the_header_has_animals_and_humans_over_their_groups_over_the_regions(browser, anatomy_page):
    open_page(browser, anatomy_page)
    top, groups, leaves = header_cells(browser)
    # the review's grid as the review lays it out, each population's other regions after its own
    assert top == [("Molecule", "1", "col"), ("Animals", "11", "colgroup"), ("Humans", "5", "colgroup"),
                   ("Location lost in source", "1", "col"), ("Findings", "1", "col"), ("Agreement", "1", "col")]
    assert groups == [("Brain region", "9", "colgroup"), ("Blood", "1", "colgroup"), ("Other regions", "1", "colgroup"),
                      ("Neuroimaging", "2", "colgroup"), ("Blood", "2", "colgroup"), ("Other regions", "1", "colgroup")]
    assert [text for text, _, _ in leaves] == [
        "PFC", "HPC", "AMY", "DG", "DRN", "PAG", "NAc", "VTA", "SN", "Serum", "striatum",
        "mPFC", "pgACC", "Serum", "Plasma", "ACC"]
    assert {scope for _, _, scope in leaves} == {"col"}
    row_headers = browser.find_elements("css selector", "tbody tr[data-molecule] > th")
    assert {th.get_attribute("scope") for th in row_headers} == {"row"}


def test_todays_map_keeps_the_reviews_14_columns_in_its_order(browser, pages):
    open_page(browser, pages["real"])
    regions = read_csv(ROOT / "data" / "regions.csv")
    review = sorted((r for r in regions if r["review_column"]), key=lambda r: int(r["review_column"]))
    leaves = [browser.find_element("id", f"h-{r['region_id']}") for r in review]
    assert [leaf.text for leaf in leaves] == [r["label"] for r in review]
    xs = [leaf.location["x"] for leaf in leaves]
    assert xs == sorted(xs)


def test_the_human_filter_hides_animal_only_rows(browser, pages):
    open_page(browser, pages["fixture"])
    assert visible_rows(browser) == ["glutamate", "ampar-truncated", "p-mtor", "bdnf", "gsk-3"]
    choose(browser, "population", "human")
    assert visible_rows(browser) == ["glutamate", "bdnf"]
    bdnf = browser.find_element("css selector", 'tr[data-molecule="bdnf"]')
    marks = [m.get_attribute("aria-label") for m in bdnf.find_elements("css selector", "button.mark") if m.is_displayed()]
    assert marks == ["increase: 1 finding, BDNF, Serum (blood serum), humans",
                     "decrease: 1 finding, BDNF, Plasma (blood plasma), humans"]
    assert bdnf.find_element("css selector", "td.total").text == "2"
    assert bdnf.find_element("css selector", "td.agreement").text == "differs by region"  # serum ↑, plasma ↓
    assert browser.find_element("id", "status").text == "Showing 3 findings of 11 on 2 molecules."


def test_the_unknown_population_filter_shows_the_findings_whose_location_was_lost(browser, pages):
    open_page(browser, pages["fixture"])
    choose(browser, "population", "unknown")
    assert visible_rows(browser) == ["glutamate", "ampar-truncated"]
    choose(browser, "population", "animal")
    assert visible_rows(browser) == ["p-mtor", "bdnf", "gsk-3"]


def test_the_human_filter_shows_the_molecules_with_human_findings_or_says_why_none(browser, pages):
    open_page(browser, pages["real"])
    choose(browser, "population", "human")
    human = {f["molecule_id"] for f in published_findings() if f["population"] == "human"}
    assert set(visible_rows(browser)) == human
    if not human:
        assert browser.find_element("id", "empty").is_displayed()
        assert "unknown population" in browser.find_element("id", "empty").text


def test_measure_and_direction_filters_update_marks_totals_and_agreement(browser, pages):
    open_page(browser, pages["fixture"])
    choose(browser, "measure", "phosphorylation")
    assert visible_rows(browser) == ["p-mtor"]
    choose(browser, "direction", "decrease")
    row = browser.find_element("css selector", 'tr[data-molecule="p-mtor"]')
    assert [m.text for m in row.find_elements("css selector", "button.mark") if m.is_displayed()] == ["↓"]
    assert (row.find_element("css selector", "td.total").text, row.find_element("css selector", "td.agreement").text) \
        == ("1", "all down")
    browser.find_element("id", "reset").click()
    assert len(visible_rows(browser)) == 5


def test_a_clicked_mark_shows_its_verbatim_source_text_and_provenance(browser, pages):
    open_page(browser, pages["fixture"])
    mark = browser.find_element("css selector", 'tr[data-molecule="gsk-3"] td[headers~="h-animal-Serum"] button.mark')
    mark.click()
    dialog = browser.find_element("id", "provenance")
    assert dialog.is_displayed()
    text = dialog.text
    assert '↓ <b>&</b> "quoted" </script>' in text
    for expected in ("fnd-fixture00011", "line 55, cell 2", "PMID:44444445", "curated", "Serum (blood serum)", "rat"):
        assert expected in text
    browser.find_element("id", "close").click()
    assert not dialog.is_displayed()


def shown_marks(driver) -> list:
    return [m for m in driver.find_elements("css selector", "table button.mark") if m.is_displayed()]


def population_of_cell(mark) -> str:
    return mark.find_element("xpath", "./ancestor::td[1]").get_attribute("data-population") or ""


def test_a_population_filter_shows_only_that_populations_marks_and_counts_in_rolled_up_columns(browser, anatomy_page):
    findings = read_csv(anatomy_page.parent / "data" / "findings.csv")
    open_page(browser, anatomy_page)
    for population, heading in (("animal", "Animals"), ("human", "Humans")):
        choose(browser, "population", population)
        marks = shown_marks(browser)
        assert marks and {population_of_cell(m) for m in marks} == {population}
        expected = [f for f in findings if f["population"] == population]
        assert sum(int(m.get_attribute("data-shown")) for m in marks) == len(expected)
        assert browser.find_element("id", "status").text.startswith(f"Showing {len(expected)} findings of {len(findings)} ")
        headers = [th.text for th in browser.find_elements("css selector", "thead th.population") if th.is_displayed()]
        assert headers == [heading]  # the other population's columns are hidden
        other = browser.find_elements("css selector", f'td[data-population]:not([data-population="{population}"])')
        assert other and not any(td.is_displayed() for td in other)
    # the rolled-up column counts the sub-region's findings, and its mark names the sub-region
    choose(browser, "population", "animal")
    up = browser.find_element("css selector", 'tr[data-molecule="bdnf"] td[headers~="h-animal-striatum"] button.mark')
    assert up.get_attribute("aria-label") == ("increase: 2 findings, BDNF, striatum (striatum), animals; "
                                              "1 in DMS (dorsomedial striatum)")
    browser.find_element("id", "reset").click()
    assert len(shown_marks(browser)) > len(marks)


def test_the_script_judges_agreement_and_names_sub_regions_as_the_python_grid_does(browser, anatomy_page):
    emap = evidence_map(read_tables(anatomy_page.parent / "data"))
    page = anatomy_page.read_text(encoding="utf-8")
    written = re.findall(r'<button [^>]*aria-label="([^"]*)"', page)  # as Python wrote them
    open_page(browser, anatomy_page)  # the script has recomputed every label and agreement
    assert [html.unescape(label) for label in written] == [
        m.get_attribute("aria-label") for m in browser.find_elements("css selector", "table button.mark")]
    shown = {row.get_attribute("data-molecule"): row.find_element("css selector", "td.agreement").text
             for row in browser.find_elements("css selector", "tr[data-molecule]")}
    assert shown == {row.molecule["molecule_id"]: row.agreement for row in emap.rows}
    assert {"mixed in 1 region", "differs by region", "differs, location lost"} <= set(shown.values())
    definition = browser.find_element("id", "agreement-definition")
    assert "differs by region" in definition.text and "mixed in N regions" in definition.text
    link = browser.find_element("css selector", "#h-agreement a")
    assert link.get_attribute("href").endswith("#agreement-definition")


def test_a_marks_dialog_links_its_references_and_names_its_sub_region(browser, anatomy_page):
    open_page(browser, anatomy_page)
    dialog = browser.find_element("id", "provenance")
    browser.find_element("css selector", 'tr[data-molecule="bdnf"] td[headers~="h-animal-HPC"] button.increase').click()
    hrefs = {a.text: a.get_attribute("href") for a in dialog.find_elements("css selector", "a")}
    assert hrefs == {"PMID:33333333": "https://pubmed.ncbi.nlm.nih.gov/33333333/",
                     "PMID:33333334": "https://pubmed.ncbi.nlm.nih.gov/33333334/",
                     "10.1000/xyz123": "https://doi.org/10.1000/xyz123"}
    assert "References of these findings: PMID:33333333 (1 finding)" in dialog.text
    browser.find_element("id", "close").click()
    browser.find_element("css selector", 'tr[data-molecule="bdnf"] td[headers~="h-animal-HPC"] button.decrease').click()
    assert "CA1 (cornu ammonis 1), within HPC (hippocampus)" in dialog.text
    assert "Within this column: 1 in CA1 (cornu ammonis 1)." in dialog.text
    browser.find_element("id", "close").click()
    browser.find_element("css selector", 'tr[data-molecule="glutamate"] td.lost button.mark').click()
    assert "References: none; the source cites references whose numbers its export lost." in dialog.text
    assert not dialog.find_elements("css selector", "a")
    browser.find_element("id", "close").click()


def test_todays_map_has_marks_in_region_columns_of_both_populations_linked_to_their_studies(browser, pages):
    located = {f["population"] for f in published_findings() if f["region_id"]}
    open_page(browser, pages["real"])
    marks = shown_marks(browser)
    for population in located:  # every population with a located finding has marks in its region columns
        assert any(population_of_cell(m) == population for m in marks), population
    dialog = browser.find_element("id", "provenance")
    cited = [m for m in marks if population_of_cell(m)]
    for mark in cited[:3] + cited[-3:]:
        mark.click()
        for article in dialog.find_elements("css selector", "article.finding"):
            refs = [a.get_attribute("href") for a in article.find_elements("css selector", "dd a")]
            assert all(re.match(r"^https://(pubmed\.ncbi\.nlm\.nih\.gov/\d+/|doi\.org/10\.)", r) for r in refs)
            assert refs or "none:" in article.text
        browser.find_element("id", "close").click()
    version = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["version"]
    assert browser.find_element("css selector", "header p").text.startswith(f"ketamap {version}")


def test_the_docs_show_a_small_screenshot_of_the_page():
    from PIL import Image

    doc = (ROOT / "docs" / "evidence-map.md").read_text(encoding="utf-8")
    assert "](images/evidence-map-page.png)" in doc
    shot = ROOT / "docs" / "images" / "evidence-map-page.png"
    assert shot.stat().st_size < 300_000 and Image.open(shot).size[0] >= 1400


def test_a_mark_is_reached_and_opened_with_the_keyboard(browser, pages):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_page(browser, pages["real"])
    for _ in range(12):  # three filters, the reset button and the scrollable table come first
        ActionChains(browser).send_keys(Keys.TAB).perform()
        focused = browser.switch_to.active_element
        if "mark" in (focused.get_attribute("class") or ""):
            break
    else:
        pytest.fail("no mark is reachable with Tab")
    assert re.match(r"^(increase|decrease|no change): \d+ findings?, ", focused.get_attribute("aria-label"))
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    dialog = browser.find_element("id", "provenance")
    assert dialog.is_displayed()
    assert "Source text (verbatim)" in dialog.text and re.search(r"fnd-[0-9a-f]{12}", dialog.text)
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert not dialog.is_displayed()
    assert browser.switch_to.active_element == focused


def test_every_mark_has_a_text_alternative_for_its_symbol(browser, pages):
    open_page(browser, pages["fixture"])
    for mark in browser.find_elements("css selector", "table button.mark"):
        assert re.match(r"^(increase|decrease|no change): \d+ findings?, ", mark.get_attribute("aria-label"))
        assert mark.find_element("css selector", ".symbol").get_attribute("aria-hidden") == "true"


# --- the page on every screen: contrast, a phone, a desktop -------------------------------------------


# Every visible text node's colour against the first opaque background behind it, from computed styles,
# as WCAG 2's contrast ratio (relative luminance of sRGB); the lowest first.
CONTRASTS = r"""
function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function rgba(text) { const m = text.match(/[\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; }
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
}
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!n.textContent.trim() || !el.getClientRects().length || el.closest("script, style, dialog:not([open])")) continue;
  if (getComputedStyle(el).visibility === "hidden") continue;
  const fg = rgba(getComputedStyle(el).color), bg = background(el);
  const seen = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
  const [hi, lo] = [luminance(seen), luminance(bg)].sort((a, b) => b - a);
  out.push([Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100, n.textContent.trim().slice(0, 40), el.className]);
}
return out.sort((a, b) => a[0] - b[0]);
"""


def contrasts(driver) -> list[tuple[float, str, str]]:
    return [tuple(entry) for entry in driver.execute_script(CONTRASTS)]


@pytest.fixture(scope="module")
def dense_page(tmp_path_factory) -> Path:
    """The fixture package plus, for one molecule, every direction in every column of the review's grid: the
    widest rows it can have."""
    data = tmp_path_factory.mktemp("dense") / "data"
    shutil.copytree(FIXTURE_DATA, data)
    with open(data / "findings.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, findings = reader.fieldnames, list(reader)
    with open(data / "regions.csv", encoding="utf-8", newline="") as fh:
        regions = list(csv.DictReader(fh))
    template = next(f for f in findings if f["molecule_id"] == "bdnf")
    for number, (region, direction) in enumerate(
            [(r, d) for r in regions if r["review_column"] for d in ("increase", "decrease", "no_change")]):
        findings.append({**template, "finding_id": f"fnd-dense{number:07x}", "region_id": region["region_id"],
                         "population": region["population"], "direction": direction})
    with open(data / "findings.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(findings)
    folder = data.parent / "map"
    (folder / "evidence-map.html").parent.mkdir()
    (folder / "evidence-map.html").write_bytes(built(folder, data)["evidence-map.html"])
    return folder / "evidence-map.html"


def test_every_text_meets_wcag_aa_contrast_on_desktop_phone_and_in_the_dialog(browser, pages):
    for name, page in pages.items():
        for width in (1400, 390):
            open_page(browser, page)
            browser.set_window_size(width, 900)
            measured = contrasts(browser)
            assert measured, name
            assert [m for m in measured if m[0] < 4.5] == [], f"{name} at {width} px"
        browser.find_element("css selector", "button.mark").click()
        in_dialog = contrasts(browser)
        assert any("Source text" in text for _, text, _ in in_dialog)
        assert [m for m in in_dialog if m[0] < 4.5] == [], f"{name}, provenance dialog"
    open_page(browser, pages["fixture"])  # the marks' symbols and counts are among the texts measured
    assert {text for _, text, cls in contrasts(browser) if cls in ("symbol", "count")} >= {"↑", "↓", "−", "2"}


def test_on_a_phone_the_marks_stay_in_view_beside_the_molecule_column(browser, pages):
    for name, page in pages.items():
        open_page(browser, page)
        browser.set_window_size(390, 844)
        for row in browser.find_elements("css selector", "tr[data-molecule]")[:12]:
            seen = browser.execute_script("""
                const mark = arguments[0].querySelector("button.mark");
                mark.scrollIntoView({block: "center", inline: "center"});
                const box = mark.getBoundingClientRect();
                const sticky = arguments[0].querySelector("th").getBoundingClientRect();
                const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
                return {left: box.left, right: box.right, sticky: sticky.right, width: window.innerWidth,
                        hit: Boolean(hit && hit.closest("button.mark") === mark)};""", row)
            assert seen["sticky"] <= 0.35 * seen["width"], f"{name}: the molecule column takes {seen['sticky']} px"
            assert seen["sticky"] <= seen["left"] and seen["right"] <= seen["width"], (name, seen)
            assert seen["hit"], f"{name}: a mark is covered ({row.get_attribute('data-molecule')})"
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"evidence-map-phone-marks-{name}.png"))
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390


def test_nothing_is_cut_off_at_1400_px(browser, pages, dense_page):
    for name, page in (*pages.items(), ("dense", dense_page)):
        open_page(browser, page)  # 1400 × 1000
        fit = browser.execute_script("""
            const scroll = document.querySelector(".scroll"), agreement = document.getElementById("h-agreement");
            return {table: scroll.scrollWidth, box: scroll.clientWidth, page: document.documentElement.scrollWidth,
                    window: document.documentElement.clientWidth,
                    agreement: agreement.getBoundingClientRect().right, right: scroll.getBoundingClientRect().right};""")
        if name != "real":  # the review's grid fits; a package with many more regions scrolls in its box
            assert fit["table"] <= fit["box"] and fit["agreement"] <= fit["right"], (name, fit)
        assert fit["page"] <= fit["window"], (name, fit)  # never the page: the table scrolls inside .scroll
        if name == "dense":
            ARTIFACTS.mkdir(exist_ok=True)
            browser.save_screenshot(str(ARTIFACTS / "evidence-map-dense.png"))


def test_the_footer_gives_the_source_and_its_doi_once(pages):
    page = pages["real"].read_text(encoding="utf-8")
    footer = re.sub(r"<[^>]+>", "", page[page.index("<footer>"):page.index("</footer>")])
    doi = next(row for row in csv.DictReader(open(ROOT / "data" / "sources.csv", encoding="utf-8"))
               if row["kind"] == "review")["doi"]
    assert footer.count(doi) == 1 and footer.count("doi:") == 1
    assert f'<a href="https://doi.org/{doi}">doi:{doi}</a>' in page


# --- a map that stays small ----------------------------------------------------------------------------


def repeated(folder: Path, times: int) -> Path:
    """The fixture package with every finding repeated `times` times under new ids: the same marks, more findings."""
    data = folder / "data"
    shutil.copytree(FIXTURE_DATA, data)
    with open(data / "findings.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, findings = reader.fieldnames, list(reader)
    with open(data / "findings.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**f, "finding_id": f"fnd-{n:06d}{k:06d}"} for k in range(times) for n, f in enumerate(findings))
    return data


@pytest.fixture(scope="module")
def crowded_page(tmp_path_factory) -> Path:
    """The fixture's marks, each holding 100 times its findings: more than a mark carries in full."""
    folder = tmp_path_factory.mktemp("crowded")
    (folder / "evidence-map.html").write_bytes(built(folder, repeated(folder, 100))["evidence-map.html"])
    return folder / "evidence-map.html"


def test_the_page_and_the_figure_grow_with_the_grid_not_with_the_findings(tmp_path):
    sizes = {}
    for times in (100, 1000):  # 1,100 and 11,000 findings in the same 10 marks
        sizes[times] = {name: len(payload) for name, payload in
                        built(tmp_path / f"out-{times}", repeated(tmp_path / f"x{times}", times)).items()}
    assert sizes[1000]["evidence-map.html"] - sizes[100]["evidence-map.html"] < 2_000  # a digit more per count
    for name in ("evidence-map.svg", "evidence-map.png"):
        assert sizes[1000][name] < 1.1 * sizes[100][name], name
    emap = evidence_map(read_tables(tmp_path / "x1000" / "data"))
    assert emap.counts.total == 11_000 and emap.sample_size == SAMPLE_MAX
    assert all(len(mark.sample) == SAMPLE_MAX for row in emap.rows for mark in row.marks)


def test_a_mark_carries_its_first_findings_in_source_order_and_counts_the_rest(tmp_path):
    emap = evidence_map(read_tables(repeated(tmp_path, 100)))
    bdnf = next(row for row in emap.rows if row.molecule["molecule_id"] == "bdnf")
    mark = bdnf.cells["animal-HPC"]["increase"]
    assert (mark.count, mark.groups) == (200, [("animal", "level", "animal-HPC", 200)])
    assert [(f["source_row"], f["source_cell"]) for f in mark.sample] == [("40", "1")] * 50  # line 40 cell 1 first
    assert [f["finding_id"] for f in mark.sample] == sorted(f["finding_id"] for f in mark.sample)


def test_a_crowded_mark_shows_what_it_carries_and_where_the_rest_are(browser, crowded_page):
    open_page(browser, crowded_page)
    assert browser.find_element("id", "status").text == "Showing 1100 findings of 1100 on 5 molecules."
    mark = browser.find_element("css selector", 'tr[data-molecule="bdnf"] td[headers~="h-animal-HPC"] button.mark')
    assert mark.text == "↑\n200" or mark.text == "↑200"
    mark.click()
    dialog = browser.find_element("id", "provenance")
    assert len(dialog.find_elements("css selector", "article.finding")) == SAMPLE_MAX
    assert dialog.find_element("css selector", ".more").text == (
        "Shown here: 50 of these 200 findings (the page carries the first 50 of each mark, in source order). "
        "150 more: filter data/findings.csv by molecule_id=bdnf, region_id=animal-HPC, direction=increase.")
    browser.find_element("id", "close").click()
    choose(browser, "population", "unknown")
    lost = browser.find_element("css selector", 'tr[data-molecule="glutamate"] td.lost button.mark')
    lost.click()
    assert dialog.find_element("css selector", ".more").text.endswith(
        "by molecule_id=glutamate, region_id=(empty), direction=no_change, population=(empty).")


def test_the_page_carries_the_grid_not_every_finding(crowded_page):
    page = crowded_page.read_text(encoding="utf-8")
    assert page.count("fnd-") == 10 * SAMPLE_MAX  # each mark's sample, never all 1,100 ids
    assert 'data-findings="' not in page


# --- the command and the stage ----------------------------------------------------------------------


def ketamap(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=tool_env(),
                          capture_output=True, text=True)


def test_ketamap_report_draws_the_map_of_any_package_folder(tmp_path):
    done = ketamap("report", "--out", str(tmp_path / "map"), "--data", str(FIXTURE_DATA))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "map").iterdir()) == sorted(REPORT_FILES)
    assert "GSK-3" in (tmp_path / "map" / "evidence-map.html").read_text(encoding="utf-8")


def test_ketamap_report_exits_2_on_unreadable_tables_and_1_on_contradicting_ones(tmp_path):
    missing = ketamap("report", "--out", str(tmp_path / "map"), "--data", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "unreadable-table" in missing.stderr and "Traceback" not in missing.stderr
    shutil.copytree(FIXTURE_DATA, tmp_path / "data")
    findings = tmp_path / "data" / "findings.csv"
    findings.write_text(findings.read_text(encoding="utf-8").replace(",bdnf,", ",bdnf-2,"), encoding="utf-8")
    bad = ketamap("report", "--out", str(tmp_path / "map"), "--data", str(tmp_path / "data"))
    assert bad.returncode == 1 and "unknown-molecule" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "map").exists()


def test_the_map_names_the_version_the_tables_were_built_as(tmp_path):
    shutil.copytree(FIXTURE_DATA, tmp_path / "data")
    settings = params(tmp_path / "data")
    plain = build(ROOT, settings, tmp_path / "a")[tmp_path / "a" / "evidence-map.html"].decode("utf-8")
    assert f"<p>ketamap {settings['release']['version']}: " in plain  # no descriptor: params.yaml's version
    descriptor = {"name": "ketamap", "version": "7.1.0+unreleased",
                  "resources": [{"name": "findings", "path": "data/findings.csv"}]}
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    files = build(ROOT, settings, tmp_path / "b")
    page = files[tmp_path / "b" / "evidence-map.html"].decode("utf-8")
    assert "<p>ketamap 7.1.0+unreleased (not released: the data changed since release 7.1.0): " in page
    descriptor["resources"][0]["path"] = "elsewhere/findings.csv"  # a descriptor of other tables says nothing
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    assert build(ROOT, settings, tmp_path / "c")[tmp_path / "c" / "evidence-map.html"].decode("utf-8") == plain


def test_ketamap_report_exits_1_when_regions_are_part_of_each_other(tmp_path):
    data = with_findings(tmp_path, ANATOMY)
    regions = data / "regions.csv"
    regions.write_text(regions.read_text(encoding="utf-8").replace(
        "animal-striatum,striatum,striatum,animal,brain,,", "animal-striatum,striatum,striatum,animal,brain,animal-DMS,"),
        encoding="utf-8")
    done = ketamap("report", "--out", str(tmp_path / "map"), "--data", str(data))
    assert done.returncode == 1 and "region-cycle" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "map").exists()


def test_render_html_escapes_the_package_name(tmp_path):
    page = render_html(evidence_map(read_tables(FIXTURE_DATA)), "<name>", "1.0.0")
    assert "<name>" not in page and "&lt;name&gt;" in page


def test_forced_dvc_repro_twice_leaves_html_svg_and_png_byte_identical(tmp_path):
    project = copy_project(tmp_path / "ketamap")
    committed = {name: (project / "reports" / name).read_bytes() for name in REPORT_FILES}
    for _ in range(2):
        done = run_dvc(project, "repro", "-f")
        assert done.returncode == 0, done.stderr
        assert {name: (project / "reports" / name).read_bytes() for name in REPORT_FILES} == committed
    assert run_dvc(project, "status", "-q").returncode == 0
