"""Typed keys of the application's state."""

from __future__ import annotations

from aiohttp import web

from adapters.ischinese.receiver import IschineseReceiver
from adapters.ports import LearnerDirectory
from gateway.bootstrap import Hub
from gateway.pages.stylesheet import Stylesheet
from gateway.throttle import ClientThrottle
from ledger.group_commit import GroupCommitter

HUB = web.AppKey("hub", Hub)
OPENAPI = web.AppKey("openapi", dict[str, object])
DELIVERIES = web.AppKey("deliveries", GroupCommitter)
DIRECTORY = web.AppKey("directory", LearnerDirectory)
ISCHINESE = web.AppKey("ischinese", IschineseReceiver)
STYLESHEET = web.AppKey("stylesheet", Stylesheet)
VERIFY_THROTTLE = web.AppKey("verify_throttle", ClientThrottle)
