"""The explorer page end to end in a real headless browser: Playwright driving the system's Chromium."""

from __future__ import annotations

import shutil

import pytest
from test_server import save_tiny_models

from textvae.server import create_app
from textvae.server.background import serve_in_thread
from textvae.server.explorer import load_explorer

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install -e '.[dev]')")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="no chromium on PATH (Debian: apt-get install chromium)")


@pytest.fixture()
def page_url(tmp_path, tiny_config, word_tokenizer):
    dirs = save_tiny_models(tmp_path, tiny_config, word_tokenizer)
    with serve_in_thread(create_app(load_explorer(dirs["vae"], dirs["ae"], dirs["dialogue"]))) as url:
        yield url


def items(page, selector: str) -> list[str]:
    return page.locator(f"{selector} li").all_inner_texts()


def drawn(page, layer: str) -> int:
    """How many points of a layer (corpus, cloud, path, clicked) the map last drew."""
    return int(page.locator("#map").get_attribute(f"data-{layer}") or 0)


def settled(page, status_id: str) -> None:
    """Wait until a panel's request has been answered (its status line no longer says it is working)."""
    page.wait_for_function(f"!document.getElementById('{status_id}').textContent.endsWith('…')")


def test_the_page_paraphrases_interpolates_and_decodes_the_map(page_url, tmp_path):
    problems = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            page.goto(page_url)
            # the map is drawn, and the example sentence's paraphrase cloud on it
            page.wait_for_function("document.getElementById('map').dataset.cloud > 1", timeout=30_000)
            assert drawn(page, "corpus") > 200

            # type a sentence: its paraphrases appear
            typed = "the company said it would buy the shares"
            with page.expect_response(lambda r: "api/paraphrase" in r.url and typed in r.request.post_data):
                page.fill("#sentence", typed)
            settled(page, "paraphrase-status")
            sampled = items(page, "#paraphrases")
            assert 1 <= len(sampled) <= 5

            # the scale slider: at 0 only the decode of mu is left
            with page.expect_response("**/api/paraphrase"):
                page.fill("#scale", "0")
            settled(page, "paraphrase-status")
            assert page.input_value("#scale") == "0" and page.inner_text("#scale-value") == "0.00"
            assert len(items(page, "#paraphrases")) <= 1 and items(page, "#paraphrases") != sampled

            # an interpolation fills both columns and is drawn as a path
            page.fill("#steps", "5")
            with page.expect_response("**/api/interpolate"):
                page.click("#interp-run")
            page.wait_for_function("document.getElementById('map').dataset.path == 5")
            assert len(items(page, "#interp-vae")) == len(items(page, "#interp-ae")) == 5

            # hovering a corpus point shows its sentence; clicking an empty corner decodes that point
            page.locator("#map").scroll_into_view_if_needed()
            box = page.locator("#map").bounding_box()  # in viewport coordinates, as the mouse is
            x, y = page.evaluate("toPixel(state.map.points[0])")
            page.mouse.move(box["x"] + x, box["y"] + y)
            assert page.is_visible("#map-tooltip") and page.inner_text("#map-tooltip")
            with page.expect_response("**/api/decode"):
                page.mouse.click(box["x"] + 6, box["y"] + 6)
            page.wait_for_function("document.getElementById('map').dataset.clicked == 1")
            assert "→" in page.inner_text("#map-decoded")

            # deterministic vs sampled, dialogue replies (a dialogue model is loaded) and an analogy
            page.click("#contrast-run")
            page.wait_for_selector("#contrast dd")
            assert page.locator("#contrast dt").count() == 5
            assert page.is_visible("#respond-run")
            page.click("#respond-run")
            page.wait_for_function("document.querySelectorAll('#replies li').length === 5")
            assert page.locator("#reply-fixed dd").count() == 1

            page.click("#analogy-run")
            page.wait_for_function("document.querySelectorAll('#analogy dd').length === 2")

            # the autoencoder's space has its own map; the interpolation path is redrawn in it
            page.select_option("#map-space", "ae")
            page.wait_for_function("document.getElementById('map').dataset.path == 5")
            page.screenshot(path=tmp_path / "explorer.png", full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
    assert problems == []
