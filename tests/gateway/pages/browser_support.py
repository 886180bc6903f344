"""What the browser tests share: Debian's Chromium and its flags, the window sizes, and the Camera that saves
each page as a screenshot and keeps what went wrong in the browser. The fixtures are in ``conftest.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Page, Response, ViewportSize

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_FLAGS: Final = (
    *("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"),
    *("--disable-component-update", "--disable-sync", "--lang=zh-CN"),
)
DESKTOP: Final[ViewportSize] = {"width": 1280, "height": 900}
PHONE: Final[ViewportSize] = {"width": 390, "height": 844}


@dataclass
class Camera:
    """Saves each page as a numbered screenshot, and keeps what went wrong in the browser: the console's
    complaints (a policy's refusals among them), script errors, and answers of 400 or more."""

    directory: Path
    taken: list[Path] = field(default_factory=list)
    complaints: list[str] = field(default_factory=list)

    async def shoot(self, page: Page, name: str) -> None:
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=path, full_page=True)
        self.taken.append(path)

    def watch(self, page: Page) -> None:
        page.on("console", self._heard)
        page.on("pageerror", lambda error: self.complaints.append(f"script: {error}"))
        page.on("response", self._answered)

    def _heard(self, message: ConsoleMessage) -> None:
        # Failed loads are judged by their answers below, where their URL is known.
        if message.type in {"error", "warning"} and not message.text.startswith("Failed to load resource"):
            self.complaints.append(f"{message.type}: {message.text}")

    def _answered(self, response: Response) -> None:
        # Chromium asks every site for /favicon.ico; neither the hub nor the simulators have one.
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            self.complaints.append(f"{response.status}: {response.url}")
