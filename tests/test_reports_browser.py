"""The reports people open, opened in a browser: the suite's conformance.html and the rendered allure report.

One small suite run (module fixture `run`) against the reference server with the fault `link-2003-as-2025`
(an expiry date of yesterday answered 2025 instead of 2003), on the scenarios of LINK-2003 (fails), LINK-2002
(passes) and AUTH-OAUTH (skipped: the one-org profile has no OAuth org), fuzz stage off; then both reports
open from file:// in headless Chromium (Debian's /usr/bin/chromium through Playwright's Python API), with every
request other than file: and data: refused and recorded. Each test checks that the counts the page shows are
the JUnit counts, and that the failed requirement and its redacted exchange are shown once the failure is
expanded. Screenshots go to the test's tmp_path, and to PP_SCREENSHOTS_DIR when it is set.

The allure report is rendered as users render it: `npm run allure:report` (allurerc.mjs), pointed at the run's
directories by PP_ALLURE_RESULTS and PP_ALLURE_REPORT.

Without /usr/bin/chromium, the playwright package, npm or node_modules/allure the tests skip, naming what is
missing; with PP_REQUIRE_BROWSER=1 (.ci/run sets it) or CI set they fail instead, so CI never skips them.
Install: `apt-get install -y chromium`, `pip install -e ".[dev]"`, `npm ci`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .refserver import start_reference_server
from .test_honest_headline import basic_profile, start_target
from .test_suite_runs import SECRETS, counts, run_suite

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(os.environ["PP_SCREENSHOTS_DIR"]) if os.environ.get("PP_SCREENSHOTS_DIR") else None
"""Where screenshots are kept beyond the test's tmp_path: PP_SCREENSHOTS_DIR, else nowhere (`pytest tests` writes
nothing to the checkout's reports/)."""
FAULT = "link-2003-as-2025"
REQUIREMENT = "LINK-2003"
SELECTION = "(LINK-2003 or LINK-2002 or AUTH-OAUTH) and not fuzz"
EXPECTED = {"tests": 4, "failures": 1, "errors": 0, "skipped": 1}
# environment of the caller that would change the run (target, profile, stance, run id, xdist state, journal)


def _missing(what: str, how: str) -> None:
    """Skip (fail under CI) because `what` is not installed."""
    message = f"{what} is missing ({how})"
    if os.environ.get("PP_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
        pytest.fail(f"PP_REQUIRE_BROWSER=1 or CI is set, so this test may not skip: {message}")
    pytest.skip(message)


@dataclass(frozen=True)
class SuiteRun:
    base_url: str
    reports: Path
    alluredir: Path
    junit: dict[str, int]
    seconds: float


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The suite run both tests look at (about 4 s)."""
    work = tmp_path_factory.mktemp("browser-run")
    reports = work / "reports"
    profile = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    profile["orgs"] = profile["orgs"][:1]  # relinking enabled, Basic auth only: AUTH-OAUTH is skipped
    profile_path = work / "one-org.yaml"
    profile_path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    started = time.monotonic()
    base_url, stop = start_reference_server("--fault", FAULT, log_path=work / "reference-server.log")
    try:
        code, output, root = run_suite(
            work,
            "-p",
            "no:schemathesis",
            "-p",
            "no:hypothesispytest",
            "-m",
            SELECTION,
            f"--profile={profile_path}",
            f"--base-url={base_url}",
            "--reference-target",
            env={"PP__JOURNAL_DIR": str(work / "journal")},
        )
    finally:
        stop()
    assert code == 1, output[-4000:]  # a conformance failure
    junit = counts(root)
    assert junit == EXPECTED, (junit, output[-4000:])
    return SuiteRun(base_url, reports, reports / "allure-results", junit, time.monotonic() - started)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (skips, or fails under CI, when either is missing)."""
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM), "apt-get install -y chromium")
    if importlib.util.find_spec("playwright") is None:
        _missing("the playwright package", 'pip install -e ".[dev]"')
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class OfflinePage:
    """A page that may load file: and data: URLs only; anything else is refused and recorded in `refused`."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def open(self, path: Path) -> Any:
        self.page.goto(path.as_uri())
        return self.page

    def screenshot(self, tmp_path: Path, name: str, *, full_page: bool = True) -> Path:
        shot = tmp_path / name
        self.page.screenshot(path=str(shot), full_page=full_page)
        if SCREENSHOTS is not None:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy2(shot, SCREENSHOTS / name)
        return shot

    def check_offline_and_clean(self) -> None:
        assert not self.refused, f"the report tried to reach the network: {self.refused}"
        assert not self.errors, f"script errors on the page: {self.errors}"
        text = self.page.content()
        leaked = [name for name, secret in SECRETS.items() if secret in text]
        assert not leaked, f"secrets shown on the page: {leaked}"

    def close(self) -> None:
        self.context.close()


def _exchange_line(run: SuiteRun) -> str:
    return f"> POST {run.base_url}/v2/partnerProgram/linkCustomer"


def test_the_conformance_html_shows_the_junit_counts_and_the_failed_exchange(
    browser: Any, run: SuiteRun, tmp_path: Path
) -> None:
    html = run.reports / "conformance.html"
    assert html.is_file(), f"the run wrote no {html}"
    view = OfflinePage(browser)
    try:
        page = view.open(html)
        page.wait_for_selector('[data-test-count="failed"]')
        shown = {
            k: int(page.inner_text(f'[data-test-count="{k}"]').strip())
            for k in ("passed", "failed", "error", "skipped")
        }
        j = run.junit
        expected = {
            "passed": j["tests"] - j["failures"] - j["errors"] - j["skipped"],
            "failed": j["failures"],
            "error": j["errors"],
            "skipped": j["skipped"],
        }
        assert shown == expected, f"conformance.html shows {shown}, JUnit says {expected}"

        row = page.locator(f'tr[data-requirement="{REQUIREMENT}"]')
        assert row.count() == 1 and row.get_attribute("data-outcome") == "failed"
        assert row.get_attribute("data-endpoint") == "linkCustomer" and row.is_visible()
        assert REQUIREMENT in row.inner_text()
        failure = page.locator(f'details[data-failure="{REQUIREMENT}"]')
        exchange = failure.locator("pre.exchange")
        assert failure.count() == 1 and not exchange.first.is_visible(), "the exchange shows before it is expanded"
        view.screenshot(tmp_path, "conformance.png")
        failure.locator("summary").click()
        exchange.first.wait_for(state="visible")
        failure.evaluate("el => { el.scrollIntoView({block: 'center'}); window.scrollTo(0, window.scrollY); }")
        assert _exchange_line(run) in exchange.first.inner_text()
        view.screenshot(tmp_path, "conformance-failure.png", full_page=False)  # the expanded failure in view
        # issue 23, item 5: the readings section names the reference's reading, one line per entry id
        reading = page.locator('tr[data-reading="AMB-ITEM-FAILURE-HTTP-STATUS"]')
        reading.scroll_into_view_if_needed()
        assert reading.is_visible() and "HTTP 201" in reading.inner_text(), reading.inner_text()
        cell = reading.locator("td.id")
        height = cell.evaluate("el => el.getBoundingClientRect().height")
        line = cell.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 20")
        assert height < 2 * line, f"the entry id wraps ({height} px for a line of {line} px)"
        view.screenshot(tmp_path, "conformance-readings.png", full_page=False)
        view.check_offline_and_clean()
    finally:
        view.close()


def _render_allure(run: SuiteRun, out: Path) -> Path:
    if shutil.which("npm") is None:
        _missing("npm", "Node 20 with npm")
    if not (ROOT / "node_modules" / "allure" / "package.json").is_file():
        _missing("node_modules/allure", "npm ci")
    env = {**os.environ, "PP_ALLURE_RESULTS": str(run.alluredir), "PP_ALLURE_REPORT": str(out)}
    proc = subprocess.run(
        ["npm", "run", "--silent", "allure:report"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = out / "index.html"
    assert index.is_file() and not (out / "data").exists(), "not a single-file report"
    return index


def test_the_allure_report_opens_offline_with_the_junit_counts_and_the_failed_exchange(
    browser: Any, run: SuiteRun, tmp_path: Path
) -> None:
    index = _render_allure(run, tmp_path / "allure-report")
    assert "googletagmanager" not in index.read_text(encoding="utf-8")
    view = OfflinePage(browser)
    try:
        page = view.open(index)
        page.wait_for_selector('[data-testid="metadata-item-total"]')

        def shown(status: str) -> int:  # the overview's statistic; a status with no test is not shown
            value = page.locator(f'[data-testid="metadata-item-{status}"] [data-testid="metadata-value"]')
            return int(value.inner_text().strip()) if value.count() else 0

        j = run.junit
        counts = {s: shown(s) for s in ("total", "passed", "failed", "broken", "skipped", "unknown")}
        expected = {
            "total": j["tests"],
            "passed": j["tests"] - j["failures"] - j["errors"] - j["skipped"],
            "failed": j["failures"],
            "broken": j["errors"],  # allure-pytest records pytest errors as broken
            "skipped": j["skipped"],
            "unknown": 0,
        }
        assert counts == expected, f"the allure overview shows {counts}, JUnit says {expected}"
        metadata = page.locator('[data-testid="metadata-list"]').inner_text()
        assert run.base_url in metadata, f"the run's environment is not shown: {metadata!r}"
        view.screenshot(tmp_path, "allure-overview.png")

        # the tree groups by feature, then story (the requirement id): the group's title and its content are
        # siblings below one element
        title = page.locator(f'[data-testid="tree-section-title"]:text-is("{REQUIREMENT}")')
        assert title.count() == 1, f"no tree group {REQUIREMENT}"
        group = title.locator("xpath=../..")
        leaf = group.locator('[data-testid="tree-leaf"]:has([data-testid="tree-leaf-status-failed"])')
        if not leaf.count():
            title.click()  # expand a collapsed group
        leaf.first.click()
        page.get_by_text(_exchange_line(run)).first.wait_for(state="visible")
        body = page.inner_text("body")
        assert f"[{REQUIREMENT} " in body and "Category: Non-conformance (the target does not conform)" in body
        view.screenshot(tmp_path, "allure-failure.png")
        page.go_back()
        page.click('[data-testid="nav-tab-categories"]')  # the outcome classes (allurerc.mjs, allure_meta)
        page.get_by_text("Non-conformance (the target does not conform)").first.wait_for(state="visible")
        assert page.get_by_text("Not judged / skipped").first.is_visible()
        view.check_offline_and_clean()
    finally:
        view.close()


def _small_run(work: Path, *args: str) -> Path:
    """A small suite run (fuzz stage off) with reports under `work`; returns its conformance.html."""
    run_suite(work, "-p", "no:schemathesis", "-p", "no:hypothesispytest", *args)
    return work / "reports" / "conformance.html"


def _check_headline_and_columns(view: OfflinePage, html: Path, headline: str) -> Any:
    """The page opens offline, shows `headline` first, and neither wraps a requirement id or an endpoint nor cuts
    a column header (issue 23, item 6)."""
    page = view.open(html)
    page.wait_for_selector("[data-headline]")
    assert headline in page.inner_text("[data-headline]"), page.inner_text("[data-headline]")
    wrapped = page.evaluate(
        """() => [...document.querySelectorAll('#matrix td.id, #matrix td.ep')]
            .filter(td => td.offsetParent !== null)
            .filter(td => { const r = document.createRange(); r.selectNodeContents(td);
                            return r.getClientRects().length > 1 || td.scrollWidth > td.clientWidth + 1; })
            .map(td => td.textContent)"""
    )
    assert not wrapped, f"wrapped or cut cells: {wrapped[:5]}"
    cut = page.evaluate(
        """() => [...document.querySelectorAll('#matrix thead th')]
            .filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.textContent)"""
    )
    assert not cut, f"cut column headers: {cut}"
    return page


def test_the_headline_tells_a_failed_an_errored_a_partial_and_an_unreachable_run_apart(
    browser: Any, run: SuiteRun, tmp_path: Path
) -> None:
    """Four runs, four headlines, each screenshot kept (conformance-{failed,errored,partial,
    unreachable}.png): the failed run of the module fixture, a run whose target answered HTML to every request
    (errors, never failures), a partial run (-m LINK-2003) and a run against a closed port (the cause first)."""
    profile = ROOT / "profiles" / "embedded.yaml"
    gateway, stop = start_target("gateway")
    try:
        errored = _small_run(
            tmp_path / "errored", "-m", "LINK-2006", f"--base-url={gateway}", f"--profile={basic_profile(tmp_path)}"
        )
    finally:
        stop()
    cases = [
        ("failed", run.reports / "conformance.html", "does not conform"),
        ("errored", errored, "could not judge"),
        ("partial", _small_run(tmp_path / "partial", "-m", "LINK-2003"), "conforms on "),
        (
            "unreachable",
            _small_run(tmp_path / "unreachable", "--base-url=http://127.0.0.1:9", f"--profile={profile}"),
            "could not judge: target http://127.0.0.1:9 is unreachable",
        ),
    ]
    for name, html, headline in cases:
        view = OfflinePage(browser)
        try:
            page = _check_headline_and_columns(view, html, headline)
            if name == "unreachable":
                assert page.locator("[data-cause]").is_visible() and "Check next" in page.inner_text("[data-cause]")
            if name == "errored":
                assert page.locator('tr[data-outcome="failed"]').count() == 0
                assert page.locator('tr[data-requirement="LINK-2006"]').get_attribute("data-outcome") == "error"
            view.screenshot(tmp_path, f"conformance-{name}.png", full_page=False)
            view.check_offline_and_clean()
        finally:
            view.close()
