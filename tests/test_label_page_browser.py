"""``dami label`` in a real browser (headless Chromium through selenium): a batch labeled by
keyboard reaches the table exactly, skip leaves the row unlabeled, undo takes an answer back,
the next batch appears, and two tabs do not write one card twice.

Skipped with the reason when selenium, Chromium or chromedriver is missing (``.ci/run`` installs
them; by hand: ``apt-get install chromium chromium-driver``).  Set ``DAMI_LABEL_SCREENSHOT=FILE.png``
to save a screenshot of the page.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest

from test_label_page_server import Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
if CHROMIUM is None or DRIVER is None:
    pytest.skip("Chromium or chromedriver not found (apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1100,900"]


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="dami-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    except Exception as error:  # noqa: BLE001 - a browser that cannot start is a skip, not a failure
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"Chromium did not start: {' '.join(str(error).split())[:200]}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(tmp_path):
    running = Page(tmp_path, save_model=tmp_path / "labels.npz")
    yield running
    running.close()


def current_row(driver, timeout: float = 60) -> int:
    """The data row of the card on screen (waits for one)."""
    script = "const c = document.getElementById('card'); return c && !c.hidden ? c.dataset.row : null;"
    try:
        row = WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script))
    except Exception:  # noqa: BLE001 - say what the page shows instead
        shown = driver.execute_script("return [document.getElementById('progress').textContent, "
                                      "document.getElementById('message').textContent, "
                                      "document.getElementById('waiting-text').textContent].join(' | ');")
        raise AssertionError(f"no card on the page after {timeout} s: {shown}") from None
    return int(row)


def press(driver, key: str) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def wait_for(driver, condition, timeout: float = 60):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition())


def test_a_batch_by_keyboard_skip_undo_and_the_next_batch(page, browser):
    url = f"http://127.0.0.1:{page.port}/"
    browser.get(url)
    first = current_row(browser)
    buttons = browser.find_elements(By.CSS_SELECTOR, "#classes button")
    assert [b.text for b in buttons] == ["1 B", "2 M"]
    assert browser.switch_to.active_element.tag_name == "body"  # no answer pre-selected
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .bar")  # the explanation's bar chart
    rows_shown = len(browser.find_elements(By.CSS_SELECTOR, "#values tr"))
    browser.find_element(By.ID, "more").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#values tr")) > rows_shown  # the rest, one click away

    press(browser, "1")  # B ...
    wait_for(browser, lambda: current_row(browser) != first)
    assert page.labels_on_disk()[first] == "B"
    press(browser, "u")  # ... taken back
    wait_for(browser, lambda: current_row(browser) == first)
    assert first not in page.labels_on_disk()
    press(browser, "2")  # M
    second = wait_for(browser, lambda: current_row(browser) != first and current_row(browser))
    browser.refresh()  # reloading resumes where it was
    assert current_row(browser) == second
    assert browser.find_element(By.CSS_SELECTOR, "#chips li.answered").text == "1: M"
    press(browser, "s")  # skipped: stays unlabeled
    third = wait_for(browser, lambda: current_row(browser) not in (first, second) and current_row(browser))
    press(browser, "n")
    note = browser.switch_to.active_element
    assert note.get_attribute("id") == "note"
    note.send_keys("edge case 1")  # keys typed in the note do not answer
    time.sleep(0.5)
    assert third not in page.labels_on_disk() and current_row(browser) == third
    note.send_keys("\n")  # Enter leaves the note
    assert browser.switch_to.active_element.tag_name == "body"
    press(browser, "1")
    wait_for(browser, lambda: "batch 2" in browser.find_element(By.ID, "progress").text, 120)
    assert current_row(browser) not in (first, second, third)

    on_disk = page.labels_on_disk()
    new = {row: on_disk[row] for row in on_disk if row % 10 != 0}
    assert new == {first: "M", third: "B"}
    assert (page.table.parent / "table.csv.notes.csv").read_text().strip().endswith(",B,edge case 1")
    status = browser.find_element(By.ID, "status").text
    assert "labels: 14" in status and "stop rule" in status

    target = os.environ.get("DAMI_LABEL_SCREENSHOT")
    if target:
        browser.save_screenshot(target)


def test_two_tabs_do_not_write_one_card_twice(page, browser):
    url = f"http://127.0.0.1:{page.port}/"
    browser.get(url)
    row = current_row(browser)
    first_tab = browser.current_window_handle
    # this tab does not look again by itself (as a background tab whose timers the browser throttles)
    browser.execute_script("for (let id = 0; id < 100000; id++) clearTimeout(id);"
                           "window.setTimeout = function () { return 0; };")
    browser.switch_to.new_window("tab")
    browser.get(url)
    assert current_row(browser) == row
    press(browser, "2")  # M in the second tab
    wait_for(browser, lambda: current_row(browser) != row)
    browser.switch_to.window(first_tab)  # still shows the same card
    assert current_row(browser) == row
    browser.find_element(By.CSS_SELECTOR, '#classes button[data-label="B"]').click()  # B in the first tab
    message = wait_for(browser, lambda: browser.find_element(By.ID, "message").text)
    assert "already answered" in message
    assert page.labels_on_disk()[row] == "M"
    wait_for(browser, lambda: current_row(browser) != row)  # the page caught up with the other tab


def test_three_batches_end_with_exactly_the_answers_and_a_saved_model(page, browser):
    from dami_np._model_io import load_model

    before = page.labels_on_disk()
    browser.get(f"http://127.0.0.1:{page.port}/")
    answers: dict[int, str] = {}
    for batch in (1, 2, 3):
        wait_for(browser, lambda: f"batch {batch}:" in browser.find_element(By.ID, "progress").text, 120)
        for _ in range(3):
            row = current_row(browser)
            label = "B" if len(answers) % 3 else "M"
            answers[row] = label
            press(browser, "1" if label == "B" else "2")
            wait_for(browser, lambda: not browser.find_element(By.ID, "card").is_displayed()
                     or current_row(browser) != row)
    wait_for(browser, lambda: "batch 4:" in browser.find_element(By.ID, "progress").text, 120)
    assert page.labels_on_disk() == {**before, **answers} and len(answers) == 9
    saved = load_model(page.table.parent / "labels.npz")
    assert saved.info["n_labeled"] == len(before) + 9
