"""The hub's Prometheus metrics: one ``CollectorRegistry`` per application (no process globals),
whose collector reports each vendor's health.

The figures come from the database, read asynchronously and within a time bound by ``/metrics``
itself right before it renders the registry (``gateway.routes.metrics``); the collector only turns
the figures it was last handed into metric families, so rendering never waits on the database. A
scrape whose read failed says so in ``hub_health_read_success`` and reports no vendor figures
rather than stale ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from adapters.ingestion.model import VendorHealth


class VendorHealthCollector(Collector):
    """Each vendor's health, as last read for a scrape."""

    def __init__(self) -> None:
        self._health: tuple[VendorHealth, ...] = ()
        self._read_at: datetime | None = None

    def update(self, health: tuple[VendorHealth, ...], read_at: datetime) -> None:
        """The figures of this scrape."""
        self._health, self._read_at = health, read_at

    def unread(self) -> None:
        """This scrape could not read the figures."""
        self._health, self._read_at = (), None

    def collect(self) -> Iterator[Metric]:
        read = GaugeMetricFamily(
            "hub_health_read_success", "1 when the vendors' health was read from the database for this scrape"
        )
        read.add_metric([], 0 if self._read_at is None else 1)
        yield read
        if self._read_at is None:
            return
        yield from _vendor_families(self._health, self._read_at)


def _vendor_families(health: tuple[VendorHealth, ...], now: datetime) -> Iterator[Metric]:
    labels = ["vendor"]
    families = {
        "configured": GaugeMetricFamily("hub_vendor_configured", "1 when the vendor is configured", labels=labels),
        "stored": GaugeMetricFamily(
            "hub_vendor_deliveries_stored", "Deliveries the ledger stored (appended, duplicate, pending)", labels=labels
        ),
        "refused": GaugeMetricFamily(
            "hub_vendor_deliveries_refused",
            "Deliveries refused at the door, within the refusals' retention",
            labels=labels,
        ),
        "quarantined": GaugeMetricFamily(
            "hub_vendor_held_records", "Held records waiting for an operator's decision", labels=labels
        ),
        "discrepancies": GaugeMetricFamily(
            "hub_vendor_open_discrepancies", "Discrepancies with the vendor still open", labels=labels
        ),
        "last_success": GaugeMetricFamily(
            "hub_vendor_last_success_timestamp_seconds",
            "Unix time of the last delivery the ledger took or the last successful pull",
            labels=labels,
        ),
        "lag": GaugeMetricFamily("hub_vendor_lag_seconds", "Seconds since the last success", labels=labels),
    }
    for vendor in health:
        label = [vendor.vendor.value]
        families["configured"].add_metric(label, 1 if vendor.configured else 0)
        families["stored"].add_metric(label, vendor.deliveries.stored)
        families["refused"].add_metric(label, vendor.deliveries.refused)
        families["quarantined"].add_metric(label, vendor.deliveries.quarantined)
        families["discrepancies"].add_metric(label, vendor.open_discrepancies)
        last, lag = vendor.last_success_at, vendor.lag_seconds(now)
        if last is not None and lag is not None:
            families["last_success"].add_metric(label, last.timestamp())
            families["lag"].add_metric(label, lag)
    yield from families.values()


def metrics_registry() -> tuple[CollectorRegistry, VendorHealthCollector]:
    """A fresh registry for one application, with its vendors' health collector."""
    registry = CollectorRegistry(auto_describe=False)
    collector = VendorHealthCollector()
    registry.register(collector)
    return registry, collector
