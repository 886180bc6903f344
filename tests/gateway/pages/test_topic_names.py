"""A mandatory topic is shown by the name `[topics]` gives its key, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import PageBrowser

TOPICS = """
[rules.2021.mandatory]
xi_thought = ["ischinese:XJP-2021-01"]
party_history = ["hnou:HN-2021-DS01"]

[topics]
xi_thought = "习近平新时代中国特色社会主义思想"
"""


@pytest.fixture
def settings_file(settings_file: Path) -> Path:
    """The tests' settings, with two mandatory topics of which one is named."""
    with settings_file.open("a", encoding="utf-8") as settings:
        settings.write(TOPICS)
    return settings_file


async def test_the_training_page_names_the_missing_topics_by_their_names(browser: PageBrowser) -> None:
    await browser.register()
    await browser.log_in()

    page = await browser.get("/me/training?year=2021")

    assert page.status == 200
    assert "尚未完成的必修内容：party_history、习近平新时代中国特色社会主义思想" in page.text  # no name: the key
