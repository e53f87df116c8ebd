"""`ketamap validate --format html|markdown`: the contributor's rows with each problem in its cell.

The page is opened in Debian's headless chromium (the fixture of tests/test_report.py); every
problem of the JSON report must show, visible, in the cell of its line and column.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook

from conftest import ROOT, tool_env
from test_report import browser  # noqa: F401  (the same headless chromium, skipped or failed alike)

HEADER = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]
ROWS = [
    ["BDNF", "", "up-regulated", "animal", "Hippocampus", "rat", "12345", "", ""],
    ["NotAMolecule", "", "increase", "human", "HPC", "rat", "PMID:1", "", "=cmd()"],
    ["BDNF", "", "increase", "animal", "HPC", "rat", "PMID:99999991", "", "<img src=x onerror=alert(1)> a | b"],
]


def ketamap(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(tool_env()["PATH"].split(":")[0]) / "ketamap"), *args], cwd=cwd,
                          env=tool_env(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def bad_xlsx(tmp_path_factory) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "findings"
    for row in [HEADER, *ROWS]:
        sheet.append(row)
    path = tmp_path_factory.mktemp("validation-report") / "bad.xlsx"
    book.save(path)
    return path


@pytest.fixture(scope="module")
def reports(bad_xlsx: Path) -> tuple[dict, str, str]:
    """The JSON, HTML and Markdown reports of bad.xlsx, each from the command line."""
    path = bad_xlsx
    done = {fmt: ketamap("validate", path.name, "--no-package", "--format", fmt, cwd=path.parent)
            for fmt in ("json", "html", "markdown")}
    assert {fmt: d.returncode for fmt, d in done.items()} == {"json": 1, "html": 1, "markdown": 1}, \
        {fmt: d.stderr for fmt, d in done.items()}
    return json.loads(done["json"].stdout), done["html"].stdout, done["markdown"].stdout


def test_the_page_shows_each_problem_in_its_cell_in_chromium(browser, bad_xlsx: Path, reports):  # noqa: F811
    report, page, _ = reports
    (checked,) = report["files"]
    assert len(checked["errors"]) >= 6
    html_file = bad_xlsx.with_suffix(".html")
    html_file.write_text(page, encoding="utf-8")
    browser.set_window_size(1400, 1000)
    browser.get(html_file.as_uri())
    for problem in checked["errors"] + checked["warnings"]:
        cell = browser.find_element(
            "css selector", f'tr[data-line="{problem["line"]}"] td[data-column="{problem["column"]}"]')
        assert "bad" in cell.get_attribute("class").split(), problem
        shown = cell.find_element("css selector", f'.problem[data-code="{problem["code"]}"]')
        assert shown.is_displayed()
        assert problem["message"] in shown.text and f'[{problem["code"]}]' in shown.text
        if problem["suggestion"]:
            assert problem["suggestion"] in shown.text
        assert cell.find_element("css selector", ".value").text == problem["value"]
    # Good cells are plain; the counts per problem are all there.
    plain = browser.find_element("css selector", 'tr[data-line="4"] td[data-column="molecule"]')
    assert plain.get_attribute("class") in ("", None) and plain.text == "BDNF"
    counts = {row.find_elements("css selector", "td")[0].text: int(row.find_elements("css selector", "td")[1].text)
              for row in browser.find_elements("css selector", "table.counts tbody tr")}
    assert counts == checked["counts"]
    # Markup in a cell is text, not HTML: nothing ran, the cell shows it verbatim.
    notes = browser.find_element("css selector", 'tr[data-line="4"] td[data-column="notes"]')
    assert notes.text == ROWS[2][8]
    assert browser.find_elements("css selector", "img") == []
    # The same content as the JSON, embedded.
    embedded = browser.execute_script("return JSON.parse(document.getElementById('ketamap-report').textContent)")
    assert embedded == report
    shot = ROOT / "tests" / "artifacts" / "validation-report.png"
    shot.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(shot))


def test_the_page_is_self_contained(reports):
    _, page, _ = reports
    assert page.startswith("<!DOCTYPE html>") and "http://" not in page and "https://" not in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<script") == 1 and 'type="application/json"' in page


def test_markdown_lists_every_problem_escaped(reports):
    report, _, markdown = reports
    (checked,) = report["files"]
    assert markdown.startswith("## ketamap validate\n")
    table = [line for line in markdown.splitlines() if line.startswith("| ") and "[" in line]
    assert len(table) == len(checked["errors"]) + len(checked["warnings"])
    for problem in checked["errors"]:
        assert any(line.startswith(f'| {problem["line"]} | {problem["column"]} |') and f'[{problem["code"]}]' in line
                   for line in table), problem
    for code, count in checked["counts"].items():
        assert f"| {code} | {count} |" in markdown
    assert "<img" not in markdown


def test_a_valid_file_and_a_package_render_too(tmp_path: Path):
    good = tmp_path / "good.csv"
    good.write_text(",".join(HEADER) + "\nBDNF,,increase,animal,HPC,rat,PMID:12345,,\n", encoding="utf-8")
    done = ketamap("validate", "good.csv", "--no-package", "--format", "html", cwd=tmp_path)
    assert done.returncode == 0 and '<span class="verdict valid">valid</span>' in done.stdout
    package = ketamap("validate", str(ROOT / "datapackage.json"), "--format", "markdown", cwd=tmp_path)
    assert package.returncode == 0 and "✅ valid" in package.stdout


def test_problems_outside_the_rows_are_listed_not_lost(tmp_path: Path):
    """The header's problems (line 1) and the file's have no cell: the page lists each of them."""
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n", encoding="utf-8")
    report = json.loads(ketamap("validate", "wrong.csv", "--no-package", "--format", "json", cwd=tmp_path).stdout)
    page = ketamap("validate", "wrong.csv", "--no-package", "--format", "html", cwd=tmp_path).stdout
    listed = page.split('<ul class="other">', 1)[1].split("</ul>", 1)[0]
    (checked,) = report["files"]
    assert checked["errors"] and listed.count("<li>") == len(checked["errors"]) + len(checked["warnings"])
    for code in checked["counts"]:
        assert f'data-code="{code}"' in listed
