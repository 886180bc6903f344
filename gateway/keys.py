"""Typed keys of the application's state."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.bootstrap import Hub
from gateway.metrics import VendorHealthCollector
from gateway.pages.stylesheet import Stylesheet
from gateway.throttle import ClientThrottle
from ledger.group_commit import GroupCommitter

HUB = web.AppKey("hub", Hub)
OPENAPI = web.AppKey("openapi", dict[str, object])
DELIVERIES = web.AppKey("deliveries", GroupCommitter)
STYLESHEET = web.AppKey("stylesheet", Stylesheet)
VERIFY_THROTTLE = web.AppKey("verify_throttle", ClientThrottle)
METRICS = web.AppKey("metrics", CollectorRegistry)
VENDOR_HEALTH = web.AppKey("vendor_health", VendorHealthCollector)
