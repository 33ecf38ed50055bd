"""Take the README's screenshot of ``dami label`` (docs/label-page.png) in headless Chromium.

A table of the bundled ``vehicle`` data with every 20th row labeled is served by ``dami label``
(the real command, on a free port); the first batch is answered by keyboard with the true
classes, and the page is captured on the second batch, with the status after the first.

    python docs/label_page_screenshot.py [OUT.png]     (needs selenium, chromium, chromedriver)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from dami_np import datasets

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1100,900"]


def main(out: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dami-shot-"))
    X, y = datasets.load("vehicle")
    table = X.copy()
    table["class"] = y.where(table.index % 20 == 0)
    table.to_csv(folder / "vehicle.csv", index=False)
    code = "import sys; from dami_np.cli import main; sys.exit(main(sys.argv[1:]))"
    server = subprocess.Popen([sys.executable, "-c", code, "label", "vehicle.csv", "--label", "class", "--budget", "5",
                               "--save-model", "vehicle.npz", "--port", "0"], cwd=folder, stdout=subprocess.PIPE,
                              text=True)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in FLAGS + [f"--user-data-dir={folder / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(server.stdout.readline().split(" at ")[1].split()[0])
        keys = {c: str(i + 1) for i, c in enumerate(sorted(y.unique()))}
        for _ in range(5):
            row = _wait(lambda: driver.find_element(By.ID, "card").get_attribute("data-row")
                        if driver.find_element(By.ID, "card").is_displayed() else None)
            driver.find_element(By.TAG_NAME, "body").send_keys(keys[y.iloc[int(row)]])
            _wait(lambda: driver.find_element(By.ID, "card").get_attribute("data-row") != row
                  or not driver.find_element(By.ID, "card").is_displayed())
        _wait(lambda: "batch 2:" in driver.find_element(By.ID, "progress").text)
        time.sleep(0.5)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait(condition, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError("the page did not get there")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("label-page.png")))
