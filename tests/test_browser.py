"""The published HTML action log in a real headless browser (Chromium): it renders, its
structure is what assistive technology needs, and every piece of text on the page meets the
WCAG 2.2 AA contrast ratio as the browser computes the colours.

Chromium comes from Debian's packages (``apt-get install chromium``). Where it is absent the
tests skip with that reason; ``.ci/run`` installs it and sets ``ACTION_LEDGER_REQUIRE_BROWSER=1``
so that there a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from action_ledger import Ledger
from action_ledger._examples.west_mercia import record
from action_ledger.exports import publish_html

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        reason = "Chromium is not installed (Debian: apt-get install chromium); .ci/run has it"
        if os.environ.get("ACTION_LEDGER_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def published(tmp_path: Path) -> str:
    with Ledger.open(tmp_path / "register.db") as ledger:
        record(ledger)
        ledger.raise_action(
            text="Restricted: operational detail not for publication.",
            owners=["CC"],
            meeting="2021-10-04",
            restricted=True,
            actor="JI",
        )
        return publish_html(ledger, title="West Mercia PCC action log")


def _browser(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--allow-file-access-from-files",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


# Runs in the page: every element with its own text gets the contrast ratio of its computed
# colour against the first opaque background behind it (WCAG 2.2 relative luminance).
_CHECKER = """
<script>
function rgb(text) { const m = text.match(/[\\d.]+/g).map(Number);
  return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
function lum(c) { const f = v => { v /= 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
function background(el) { for (let e = el; e; e = e.parentElement) {
  const c = rgb(getComputedStyle(e).backgroundColor); if (c.a > 0) return c; }
  return {r: 255, g: 255, b: 255, a: 1}; }
window.addEventListener('load', () => {
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.id === 'a11y-report') continue;
    const s = getComputedStyle(el);
    const a = lum(rgb(s.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    found.push({tag: el.tagName, text: el.textContent.trim().slice(0, 40),
                ratio: Math.round(ratio * 100) / 100, needed: large ? 3 : 4.5});
  }
  const tables = [...document.querySelectorAll('table')];
  const report = {
    lang: document.documentElement.lang, title: document.title, elements: found,
    tables: tables.length,
    captions: tables.filter(t => t.caption && t.caption.textContent.trim()).length,
    colHeaders: document.querySelectorAll('thead th[scope=col]').length,
    rowHeaders: document.querySelectorAll('tbody th[scope=row]').length,
    text: document.body.innerText };
  const pre = document.createElement('pre'); pre.id = 'a11y-report';
  pre.textContent = JSON.stringify(report); document.body.appendChild(pre);
});
</script>
"""


def test_the_published_log_renders_accessibly_in_chromium(
    chromium: str, published: str, tmp_path: Path
) -> None:
    """In Chromium the page has its language, title, a caption for every table, column and
    row headers, no restricted action, and every text meets the WCAG AA contrast ratio."""
    page = tmp_path / "checked.html"
    page.write_text(published.replace("</body>", _CHECKER + "</body>"), encoding="utf-8")
    dom = _browser(chromium, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'<pre id="a11y-report">(.*?)</pre>', dom, re.S)
    assert found, "the checker did not run in the page"
    report = json.loads(html.unescape(found.group(1)))
    assert report["lang"] == "en-GB"
    assert report["title"]
    assert report["tables"] >= 3
    assert report["captions"] == report["tables"]
    assert report["colHeaders"] >= 9 * report["tables"] - 9
    assert report["rowHeaders"] >= 14
    assert "ACT-2021-003" in report["text"]
    assert "Restricted: operational detail" not in report["text"]
    failing = [e for e in report["elements"] if e["ratio"] < e["needed"]]
    assert report["elements"]
    assert failing == []


def test_a_screenshot_of_the_published_log(chromium: str, published: str, tmp_path: Path) -> None:
    """Chromium draws the page to a PNG (kept as tests/artifacts/action-log.png for a
    person to look at when ACTION_LEDGER_KEEP_SCREENSHOT is set)."""
    page = tmp_path / "action-log.html"
    page.write_text(published, encoding="utf-8")
    shot = tmp_path / "action-log.png"
    _browser(chromium, f"--screenshot={shot}", "--window-size=1280,1800", page.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a drawn page, not a blank one
    keep = os.environ.get("ACTION_LEDGER_KEEP_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(data)
