"""A browser on the hub's pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..access_support import ClientMaker
from .support import PageBrowser, page_browser


@pytest.fixture
async def browser(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> PageBrowser:
    return await page_browser(aiohttp_client, settings_file, database_url)
