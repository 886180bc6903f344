"""A browser on the hub's pages, on SQLite and PostgreSQL; and for the browser tests, the stage (the hub and
the three simulators on 127.0.0.1), Chromium and the Camera."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from config import load_settings
from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine
from gateway.demo.stage import ORGANISATION_FILE, Stage, VendorSecrets, bind_sockets, running_stage, settings_text
from sso.organisation import load_organisation
from sso.units.service import OrganisationService

from ..access_support import ClientMaker
from ..handoff_support import sqlite_copy
from .browser_support import CHROMIUM, CHROMIUM_FLAGS, Camera
from .support import PageBrowser, page_browser


@pytest.fixture
async def browser(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> PageBrowser:
    return await page_browser(aiohttp_client, settings_file, database_url)


@pytest.fixture
async def stage(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Stage]:
    """The hub and the three simulated vendors, each on a socket of its own on 127.0.0.1."""
    sockets = bind_sockets(dict.fromkeys(("hub", "ischinese", "webtrn", "hnou"), 0))
    urls = {name: f"http://127.0.0.1:{listener.getsockname()[1]}" for name, listener in sockets.items()}
    shared = VendorSecrets.generate()
    database_url = sqlite_copy(tmp_path, sqlite_template)
    settings_file = tmp_path / "hub.toml"
    text = settings_text(urls, database_url, tmp_path / "data.key", ORGANISATION_FILE, shared)
    settings_file.write_text(text, encoding="utf-8")
    ensure_keyring(tmp_path / "data.key")
    engine = create_engine(database_url)
    await OrganisationService(engine).replace(load_organisation(ORGANISATION_FILE))
    await engine.dispose()
    async with running_stage(load_settings(settings_file), sockets, shared, scheduler=False) as running:
        yield running


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        yield browser
        await browser.close()


@pytest.fixture
def camera(tmp_path: Path) -> Camera:
    directory = tmp_path / "screenshots"
    directory.mkdir()
    return Camera(directory)
