"""The HTML report opened in a real browser: headless Chromium, driven over the Chrome DevTools Protocol.

A report can be valid HTML and still be broken for a reader: a base64 figure that does not decode, a script
error, a blank page, or a reference to something on the network that is not there offline. These tests open
the tiny workflow's report in Debian's ``chromium`` (``--headless --no-sandbox``) and check all four. The
browser is driven with ``websocket-client`` over CDP, so nothing is downloaded at test time (no Selenium
Manager, no Playwright browsers).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websocket
from PIL import Image

pytestmark = pytest.mark.workflow

# Chromium starts in 1-3 s here; more than this means it is stuck (e.g. no usable display stack).
LAUNCH_TIMEOUT_S = 15.0
# The tiny report is ~1-2 MB of inline PNGs; loading it takes well under a second.
PAGE_TIMEOUT_S = 30.0
# A fixed viewport, so that the screenshot (and the blank-page thresholds below) do not depend on the machine.
VIEWPORT = {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False}
# The width the report must read at without sideways scrolling (issue #18: 1,200-1,400 px screens).
WIDE_VIEWPORT = {**VIEWPORT, "width": 1400, "height": 1000}
# Schemes a self-contained report may load from: the file itself and inline data.
LOCAL_SCHEMES = {"data", "file"}

INSTALL_HINT = (
    "headless Chromium is needed for the report browser test: install it with `apt-get install chromium` "
    "(Debian/Ubuntu), or point ONCOAE_CHROMIUM at a Chromium/Chrome binary"
)


def find_chromium() -> str:
    """The Chromium binary to run: $ONCOAE_CHROMIUM if set, else `chromium` or `chromium-browser` on PATH.

    Fails the calling test (never skips) with an install hint when there is none.
    """
    configured = os.environ.get("ONCOAE_CHROMIUM")
    if configured:
        path = shutil.which(configured)
        if path is None:
            pytest.fail(f"ONCOAE_CHROMIUM={configured!r} is not an executable; {INSTALL_HINT}")
        return path
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    pytest.fail(f"no `chromium` or `chromium-browser` on PATH; {INSTALL_HINT}")


class CdpConnection:
    """One CDP websocket (to the browser or to one page): commands in, results out, events kept in order."""

    def __init__(self, ws_url: str) -> None:
        # Chromium rejects websocket handshakes that carry an Origin header unless started with
        # --remote-allow-origins; websocket-client sends one by default, so leave it out.
        self._ws = websocket.create_connection(ws_url, timeout=PAGE_TIMEOUT_S, suppress_origin=True)
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self._ws.close()

    def _receive(self, deadline: float) -> dict[str, Any]:
        """The next message before ``deadline`` (time.monotonic()); events are also appended to self.events."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no message from Chromium in time")
        self._ws.settimeout(remaining)
        try:
            message = json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException as error:
            raise TimeoutError("no message from Chromium in time") from error
        if "method" in message:
            self.events.append(message)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Runs one CDP command and returns its result; raises RuntimeError on a protocol error."""
        self._next_id += 1
        command_id = self._next_id
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while True:
            message = self._receive(deadline)
            if message.get("id") == command_id:
                if "error" in message:
                    raise RuntimeError(f"CDP {method} failed: {message['error']}")
                return message.get("result", {})

    def wait_for_event(self, method: str, timeout: float = PAGE_TIMEOUT_S) -> dict[str, Any]:
        """The params of the first event named ``method`` (already received or arriving within ``timeout``)."""
        for event in self.events:
            if event["method"] == method:
                return event["params"]
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("method") == method:
                return message["params"]


@dataclass
class PageInspection:
    """What the browser saw for one page: its images, errors, requests and a PNG screenshot."""

    url: str
    images: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requested_urls: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""
    layout: dict[str, Any] = field(default_factory=dict)


# For every <img>: whether the browser finished loading it, its intrinsic width, and the browser's own verdict
# from img.decode(). Chromium draws a PNG whose pixel data is cut short or corrupt without any error (what it
# can read of it), so this catches undecodable and missing images, not damaged ones; tests/test_workflow.py
# decodes every figure's bytes with matplotlib for that.
IMAGES_JS = """
Promise.all(Array.from(document.images, img => img.decode().then(() => null, error => String(error)).then(
  decodeError => ({
    alt: img.alt,
    src: img.currentSrc.slice(0, 60),
    complete: img.complete,
    naturalWidth: img.naturalWidth,
    decodeError: decodeError,
  }))))
"""


# How the page is laid out at the viewport's width: whether the document is wider than the window (the page
# scrolls sideways), which boxes or images stick out of the page's content or need their own scrollbar, and
# the comparison tables' headers with their tooltips.
LAYOUT_JS = """
(() => {
  const body = document.body.getBoundingClientRect();
  const describe = e => `${e.tagName.toLowerCase()}${e.className ? "." + e.className : ""} "${
    (e.innerText || e.alt || "").trim().slice(0, 60)}"`;
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    outside: Array.from(document.querySelectorAll("body *"))
      .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > body.right + 1; })
      .map(describe),
    scrolling: Array.from(document.querySelectorAll(".table-box"))
      .filter(e => e.scrollWidth > e.clientWidth + 1).map(describe),
    headers: Array.from(document.querySelectorAll("table.metrics thead th"))
      .map(th => ({text: th.innerText, title: th.title})),
    text: document.body.innerText,
  };
})()
"""


class HeadlessChromium:
    """A headless Chromium started for the tests; ``inspect`` opens one file in a fresh tab."""

    def __init__(self, binary: str, profile_dir: Path) -> None:
        """Starts ``binary`` with a throwaway profile in ``profile_dir`` and connects to its DevTools endpoint."""
        self.log_path = profile_dir.parent / f"{profile_dir.name}.log"
        port_file = profile_dir / "DevToolsActivePort"
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            # Port 0: Chromium picks a free port and writes it to DevToolsActivePort (no races between runs).
            "--remote-debugging-port=0",
            f"--user-data-dir={profile_dir}",
            # No first-run UI, no background traffic to Google services, no extensions: nothing but the page.
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            # Containers often have a tiny /dev/shm, which crashes renderers; use /tmp instead.
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "about:blank",
        ]
        with self.log_path.open("wb") as log:
            # Own process group, so that the finalizer can stop Chromium's helper processes with it.
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + LAUNCH_TIMEOUT_S
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if self.process.poll() is not None:
                    raise AssertionError(f"Chromium exited ({self.process.returncode}) on start:\n{self._log_tail()}")
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"Chromium wrote no DevToolsActivePort in {LAUNCH_TIMEOUT_S} s:\n{self._log_tail()}"
                    )
                time.sleep(0.05)
            port, browser_path = port_file.read_text().splitlines()[:2]
            self.port = int(port)
            self.browser = CdpConnection(f"ws://127.0.0.1:{self.port}{browser_path}")
        except BaseException:
            self.stop()
            raise

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """Ends Chromium and every process it started (same process group); safe to call twice."""
        if getattr(self, "browser", None) is not None:
            try:
                self.browser.close()
            except OSError:
                pass
            self.browser = None
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        # Helpers may outlive the main process for a moment; they are in its group.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def inspect(self, html: Path, viewport: dict[str, Any] = VIEWPORT) -> PageInspection:
        """Opens ``html`` in a new tab at ``viewport`` and returns what the browser saw (LAYOUT_JS's answer in
        ``layout``); the tab is closed afterwards."""
        target_id = self.browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        page = CdpConnection(f"ws://127.0.0.1:{self.port}/devtools/page/{target_id}")
        try:
            # Everything is switched on before navigating, so that errors during parsing are caught too.
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.send(f"{domain}.enable")
            page.send("Emulation.setDeviceMetricsOverride", viewport)
            page.events.clear()  # events from about:blank are not the report's
            url = html.resolve().as_uri()
            navigation = page.send("Page.navigate", {"url": url})
            assert "errorText" not in navigation, f"Chromium could not open {url}: {navigation['errorText']}"
            page.wait_for_event("Page.loadEventFired")
            images = page.send(
                "Runtime.evaluate", {"expression": IMAGES_JS, "awaitPromise": True, "returnByValue": True}
            )
            assert "exceptionDetails" not in images, images["exceptionDetails"]
            # Two animation frames: the page has been laid out and painted before the screenshot.
            page.send(
                "Runtime.evaluate",
                {
                    "expression": "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))",
                    "awaitPromise": True,
                },
            )
            layout = page.send("Runtime.evaluate", {"expression": LAYOUT_JS, "returnByValue": True})
            assert "exceptionDetails" not in layout, layout["exceptionDetails"]
            screenshot = page.send("Page.captureScreenshot", {"format": "png"})
            return PageInspection(
                url=url,
                images=images["result"]["value"],
                console_errors=console_errors(page.events),
                exceptions=uncaught_exceptions(page.events),
                # Cut short: inline figures are requested as data: URLs of several 100 kB each.
                requested_urls=[
                    e["params"]["request"]["url"][:200]
                    for e in page.events
                    if e["method"] == "Network.requestWillBeSent"
                ],
                screenshot_png=base64.b64decode(screenshot["data"]),
                layout=layout["result"]["value"],
            )
        finally:
            page.close()
            self.browser.send("Target.closeTarget", {"targetId": target_id})


def console_errors(events: list[dict[str, Any]]) -> list[str]:
    """Error-level console output among CDP ``events``: console.error/console.assert and browser log errors."""
    errors = []
    for event in events:
        params = event["params"]
        if event["method"] == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
            errors.append(f"console.{params['type']}: {text}")
        elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            errors.append(f"log ({entry['source']}): {entry['text']} {entry.get('url', '')}".rstrip())
    return errors


def uncaught_exceptions(events: list[dict[str, Any]]) -> list[str]:
    """The uncaught JavaScript exceptions among CDP ``events``, one line each."""
    found = []
    for event in events:
        if event["method"] == "Runtime.exceptionThrown":
            details = event["params"]["exceptionDetails"]
            found.append(details.get("exception", {}).get("description", details["text"]))
    return found


def image_problems(images: list[dict[str, Any]]) -> list[str]:
    """One line per <img> (as returned by IMAGES_JS) that did not load or decode; empty when all are fine."""
    problems = []
    for image in images:
        if not image["complete"] or image["naturalWidth"] <= 0 or image["decodeError"] is not None:
            problems.append(
                f"img alt={image['alt']!r} src={image['src']!r}...: complete={image['complete']}, "
                f"naturalWidth={image['naturalWidth']}, decode error={image['decodeError']}"
            )
    return problems


def overflow_problems(layout: dict[str, Any]) -> list[str]:
    """Why a page does not fit its window's width (empty list: it does): the document is wider than the window,
    or an element sticks out of the body, or a table needs its own scrollbar."""
    problems = []
    if layout["scrollWidth"] > layout["innerWidth"]:
        problems.append(
            f"the page scrolls sideways: {layout['scrollWidth']} px wide in a {layout['innerWidth']} px window"
        )
    problems += [f"sticks out of the page: {e}" for e in layout["outside"][:10]]
    problems += [f"needs its own horizontal scrollbar: {e}" for e in layout["scrolling"][:10]]
    return problems


# "± 0", "± 0.000" or floating-point noise such as "± 5.6e-17": an sd that should not be printed.
SD_NOISE = re.compile(r"± (0(\.0*)?(?![\d.e])|\d(\.\d+)?e-(1[2-9]|[2-9]\d))")


def network_problems(requested_urls: list[str]) -> list[str]:
    """The requested URLs that are neither the file itself nor inline data, i.e. that need a network."""
    return [url for url in requested_urls if urllib.parse.urlsplit(url).scheme not in LOCAL_SCHEMES]


def blank_problems(png: bytes) -> list[str]:
    """Why a PNG screenshot looks blank (empty list: it does not).

    A page with text, tables and figures has hundreds of colours (anti-aliasing alone gives dozens), a
    noticeable share of non-white pixels and a grey-level spread far from zero; a blank or nearly blank
    page fails at least one of these.
    """
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int64)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100, pixels.shape
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    n_colours = len(np.unique(packed))
    non_white = float((pixels < 245).any(axis=-1).mean())
    grey_sd = float(pixels.mean(axis=-1).std())
    problems = []
    if n_colours < 64:
        problems.append(f"only {n_colours} distinct colours")
    if non_white < 0.02:
        problems.append(f"only {non_white:.2%} of pixels are not white")
    if grey_sd < 10:
        problems.append(f"grey-level standard deviation is only {grey_sd:.1f}")
    return problems


@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> Iterator[HeadlessChromium]:
    """A headless Chromium with a throwaway profile, shared by this module's tests; always stopped after."""
    browser = HeadlessChromium(find_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.stop()


def _png_data_uri(size: tuple[int, int] = (12, 8)) -> str:
    """A valid PNG as a data: URI (a control: this one must load)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_checks_catch_a_broken_page(chromium, tmp_path):
    """Each check reports its problem on a page that is broken on purpose, so that none can pass vacuously."""
    # A PNG signature and the start of a header, then nothing: the browser cannot decode it.
    truncated_png = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").decode()
    broken = tmp_path / "broken.html"
    broken.write_text(
        f"""<!doctype html>
<html><head><meta charset="utf-8"><title>broken</title></head><body>
<h1>Broken on purpose</h1>
<img alt="good" src="{_png_data_uri()}">
<img alt="truncated" src="{truncated_png}">
<img alt="not base64" src="data:image/png;base64,!!!not-an-image!!!">
<!-- Port 9 is on Chromium's list of unsafe ports: refused before connecting, so nothing is sent. -->
<img alt="remote" src="http://127.0.0.1:9/figure.png">
<script>console.error("deliberate console error");</script>
<script>throw new Error("deliberate uncaught exception");</script>
</body></html>
""",
        encoding="utf-8",
    )
    page = chromium.inspect(broken)

    assert [image["alt"] for image in page.images] == ["good", "truncated", "not base64", "remote"]
    problems = image_problems(page.images)
    expected_broken = ["truncated", "not base64", "remote"]
    assert len(problems) == 3, problems
    assert all(f"alt={alt!r}" in line for alt, line in zip(expected_broken, problems, strict=True)), problems
    assert any("deliberate console error" in error for error in page.console_errors), page.console_errors
    assert any("deliberate uncaught exception" in error for error in page.exceptions), page.exceptions
    assert page.requested_urls[0] == broken.resolve().as_uri()
    assert network_problems(page.requested_urls) == ["http://127.0.0.1:9/figure.png"], page.requested_urls

    wide = tmp_path / "wide.html"
    wide.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>wide</title><style>body{max-width:1200px}"
        ".table-box{overflow-x:auto}</style></head><body><p>0.273 ± 5.6e-17, 1 ± 0</p>"
        "<table style='width:1700px'><tr><td>a table as wide as the old comparison</td></tr></table>"
        "<div class='table-box'><table style='width:1500px'><tr><td>scrolls in its box</td></tr></table></div>"
        "</body></html>",
        encoding="utf-8",
    )
    wide_page = chromium.inspect(wide, WIDE_VIEWPORT)
    problems = overflow_problems(wide_page.layout)
    assert problems[0].startswith("the page scrolls sideways"), problems
    assert any("as wide as the old comparison" in p for p in problems), problems
    assert any(p.startswith("needs its own horizontal scrollbar") for p in problems), problems
    assert SD_NOISE.findall(wide_page.layout["text"]) and len(SD_NOISE.findall(wide_page.layout["text"])) == 2

    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><html><head><title>blank</title></head><body></body></html>\n")
    blank_page = chromium.inspect(blank)
    assert blank_page.console_errors == [] and blank_page.exceptions == []
    assert len(blank_problems(blank_page.screenshot_png)) == 3, blank_problems(blank_page.screenshot_png)


def test_report_renders_in_headless_chromium(tiny_run, chromium):
    """The tiny workflow's report: every figure decodes, no console errors, no network, not blank."""
    report = tiny_run / "results" / "tiny" / "report.html"
    page = chromium.inspect(report)

    assert page.images, "the report has no <img> at all"
    # All of them reached the DOM: the parser did not stop early on the ~MB of inline base64.
    assert len(page.images) == report.read_text(encoding="utf-8").count("<img "), len(page.images)
    assert image_problems(page.images) == []
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.requested_urls and page.requested_urls[0] == report.resolve().as_uri(), page.requested_urls
    assert network_problems(page.requested_urls) == []
    assert blank_problems(page.screenshot_png) == []


def test_report_reads_at_1400_px(tiny_run, chromium):
    """At 1,400 px the tiny report does not scroll sideways, no table needs a scrollbar, every comparison header
    is readable with its summary.tsv name in a tooltip, and no deterministic value prints '± 0'."""
    report = tiny_run / "results" / "tiny" / "report.html"
    page = chromium.inspect(report, WIDE_VIEWPORT)
    layout = page.layout

    assert layout["innerWidth"] == WIDE_VIEWPORT["width"]
    assert layout["scrollWidth"] <= layout["innerWidth"], layout["scrollWidth"]
    assert overflow_problems(layout) == []
    headers = [h for h in layout["headers"] if h["text"] != "model"]
    assert len(headers) >= 8, headers  # ARI, NMI, AMI, silhouette, log-rank p x2, C-index, reconstruction ...
    for header in headers:
        assert "_" not in header["text"], header
        assert header["title"], header
    titles = " ".join(h["title"] for h in headers)
    for metric in ("ari (subtype)", "logrank_p_permutation (os_days)", "n_enriched", "reconstruction_error"):
        assert metric in titles, metric
    assert SD_NOISE.findall(layout["text"]) == []
    assert blank_problems(page.screenshot_png) == []
    # Attributions are on by default and the cohort is simulated: their section, with the ground-truth check,
    # is part of what must fit.
    assert "Which features drive the latent" in layout["text"]
    assert "attributions against the simulator's ground truth" in layout["text"]
