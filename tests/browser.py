"""Debian's headless chromium through selenium, for the evidence map's browser tests and its screenshot.

The screenshot docs/images/evidence-map-page.png is made with the same browser, from the built page:

    python tests/browser.py reports/evidence-map.html docs/images/evidence-map-page.png

(the top of the page at 1700 × 1100 px, wide enough for today's whole grid, in a palette of 128 colours so
that it stays small).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000")


def missing() -> str | None:
    """Why there is no browser to drive, or None."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    return "the evidence map test needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"


@contextmanager
def chromium(*flags: str):
    """A headless chromium with a throw-away profile, its console log kept; `flags` added to FLAGS."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="ketamap-chromium-")
    for flag in (*FLAGS, *flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Path, out: Path, width: int = 1700, height: int = 1100) -> None:
    """The top of `page` as a small PNG at `out`."""
    from PIL import Image
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium("--hide-scrollbars") as driver:
        driver.set_window_size(width, height)
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.documentElement.dataset.ready"))
        raw = out.with_suffix(".raw.png")
        driver.save_screenshot(str(raw))
    Image.open(raw).convert("RGB").quantize(colors=128).save(out, optimize=True)
    raw.unlink()


if __name__ == "__main__":
    if len(sys.argv) != 3 or missing():
        sys.exit(missing() or "usage: python tests/browser.py PAGE.html OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
