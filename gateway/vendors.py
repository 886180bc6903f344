"""The registry of vendors: one explicit mapping from each vendor code (as in URLs and settings) to
how its handoff and its adapter are built from its settings.

Every vendor's adapter is a ``HeldRecordTranslator`` and meets the Protocols of what its vendor
offers (``adapters.ports``): ischinese receives webhooks, webtrn is pulled, hnou receives forms and
gives daily files. The hub builds the adapters of the configured vendors once (``open_hub``); routes,
jobs and commands ask ``VendorAdapters`` for the capability they need. ``check_registry`` stops the
start-up with one line when the codes of this mapping, the settings, the handoff and the ledger
disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hnou.adapter import HnouAdapter
from adapters.hnou.daily import DailyFileClient
from adapters.hnou.receiver import FormCredentials, HnouReceiver
from adapters.hnou.store import SqlNonceRegister
from adapters.hnou.translation import Translator
from adapters.ischinese.adapter import IschineseAdapter
from adapters.ports import BatchFetcher, HeldRecordTranslator, LearnerDirectory, PagePuller, WebhookReceiver
from adapters.webtrn.adapter import WebtrnAdapter
from adapters.webtrn.client import WebtrnAccount
from config import Settings
from config.settings import VENDOR_CODES
from gateway.errors import VendorNotReady
from ledger.model import Source
from ledger.service import Ledger
from sso.handoff import JwtPostVendor, LtiVendor, SigningAlgorithm, Vendor
from sso.personal_data import DataKeyring

HandoffLink = JwtPostVendor | LtiVendor


@dataclass(frozen=True, slots=True)
class AdapterServices:
    """What the adapters are built on."""

    ledger: Ledger
    directory: LearnerDirectory
    keyring: DataKeyring
    engine: AsyncEngine
    http: httpx.AsyncClient


@dataclass(frozen=True, slots=True)
class VendorPlug:
    """How one vendor is built from the settings: its handoff link and its adapter, each ``None``
    when the vendor has no section in the settings."""

    handoff: Callable[[Settings], HandoffLink | None]
    adapter: Callable[[Settings, AdapterServices], HeldRecordTranslator | None]


def _ischinese_handoff(settings: Settings) -> HandoffLink | None:
    vendor = settings.vendors.ischinese
    if vendor is None:
        return None
    return JwtPostVendor(Vendor.ISCHINESE, vendor.name, SigningAlgorithm(vendor.jwt_alg.value), vendor.launch_url)


def _ischinese_adapter(settings: Settings, services: AdapterServices) -> IschineseAdapter | None:
    vendor = settings.vendors.ischinese
    if vendor is None:
        return None
    return IschineseAdapter([secret.get_secret_value() for secret in vendor.webhook_secrets], services.directory)


def _webtrn_handoff(settings: Settings) -> HandoffLink | None:
    vendor = settings.vendors.webtrn
    if vendor is None:
        return None
    return JwtPostVendor(Vendor.WEBTRN, vendor.name, SigningAlgorithm(vendor.jwt_alg.value), vendor.launch_url)


def _webtrn_adapter(settings: Settings, services: AdapterServices) -> WebtrnAdapter | None:
    vendor, start = settings.vendors.webtrn, settings.webtrn_pull_start
    if vendor is None or start is None:
        return None
    secret = vendor.client_secret.get_secret_value()
    account = WebtrnAccount(vendor.token_url, vendor.api_base, vendor.client_id, secret)
    return WebtrnAdapter(account, services.ledger, services.directory, start=start)


def _hnou_handoff(settings: Settings) -> HandoffLink | None:
    vendor = settings.vendors.hnou
    if vendor is None:
        return None
    return LtiVendor(
        vendor=Vendor.HNOU,
        name=vendor.name,
        algorithm=SigningAlgorithm(vendor.jwt_alg.value),
        login_url=vendor.login_url,
        target_link_uri=vendor.target_link_uri,
        client_id=vendor.client_id,
        deployment_id=vendor.deployment_id,
        redirect_uris=tuple(vendor.redirect_uris),
    )


def _hnou_adapter(settings: Settings, services: AdapterServices) -> HnouAdapter | None:
    vendor = settings.vendors.hnou
    if vendor is None:
        return None
    appsecret = vendor.appsecret.get_secret_value()
    translator = Translator(services.directory.person_for_id_number, services.keyring, services.ledger.check)
    receiver = HnouReceiver(FormCredentials(vendor.appid, appsecret), SqlNonceRegister(services.engine), translator)
    daily_files = DailyFileClient(
        services.http, api_base=vendor.api_base, appid=vendor.appid, appsecret=appsecret, translator=translator
    )
    return HnouAdapter(receiver, daily_files, translator)


REGISTRY: Final[Mapping[str, VendorPlug]] = MappingProxyType(
    {
        "ischinese": VendorPlug(_ischinese_handoff, _ischinese_adapter),
        "webtrn": VendorPlug(_webtrn_handoff, _webtrn_adapter),
        "hnou": VendorPlug(_hnou_handoff, _hnou_adapter),
    }
)
"""Every vendor the hub speaks with, by its code."""


def check_registry(registry: Mapping[str, VendorPlug] = REGISTRY) -> None:
    """Raise ``VendorNotReady`` unless the registry, the settings, the handoff and the ledger know
    the same vendor codes."""
    known = {
        "the settings": set(VENDOR_CODES),
        "the handoff": {vendor.value for vendor in Vendor},
        "the ledger": {source.value for source in Source if source.is_vendor},
    }
    for where, codes in known.items():
        if codes != set(registry):
            missing = sorted(codes - set(registry)) or sorted(set(registry) - codes)
            raise VendorNotReady(
                f"the registry of vendors and {where} disagree about the vendor codes {', '.join(missing)}"
            )


def handoff_links(settings: Settings, registry: Mapping[str, VendorPlug] = REGISTRY) -> dict[Vendor, HandoffLink]:
    """The handoff link of each configured vendor."""
    links = {Vendor(code): plug.handoff(settings) for code, plug in registry.items()}
    return {vendor: link for vendor, link in links.items() if link is not None}


class VendorAdapters:
    """The adapters of the configured vendors, asked for by code and capability."""

    def __init__(self, adapters: Mapping[Source, HeldRecordTranslator]) -> None:
        self._adapters = dict(adapters)
        # Found once: a webhook asks for its receiver on every delivery.
        self._receivers = {
            vendor: adapter for vendor, adapter in adapters.items() if isinstance(adapter, WebhookReceiver)
        }

    @classmethod
    def build(
        cls, settings: Settings, services: AdapterServices, registry: Mapping[str, VendorPlug] = REGISTRY
    ) -> VendorAdapters:
        """The adapter of every vendor the settings configure."""
        built = {Source(code): plug.adapter(settings, services) for code, plug in registry.items()}
        return cls({source: adapter for source, adapter in built.items() if adapter is not None})

    @property
    def translators(self) -> Mapping[Source, HeldRecordTranslator]:
        """Each configured vendor's translator of held records."""
        return MappingProxyType(self._adapters)

    def receiver(self, vendor: Source) -> WebhookReceiver | None:
        """The vendor's receiver of webhooks, or ``None`` when it is not configured."""
        return self._receivers.get(vendor)

    def puller(self, vendor: Source) -> PagePuller:
        """The vendor's puller; raises ``VendorNotReady`` when it is not configured (or pulls nothing)."""
        adapter = self._configured(vendor, "to pull from")
        if not isinstance(adapter, PagePuller):
            raise VendorNotReady(f"{vendor.value} offers nothing to pull")
        return adapter

    def batches(self, vendor: Source) -> BatchFetcher:
        """The vendor's fetcher of daily batches; raises ``VendorNotReady`` as ``puller``."""
        adapter = self._configured(vendor, "to fetch the daily files of")
        if not isinstance(adapter, BatchFetcher):
            raise VendorNotReady(f"{vendor.value} offers no daily files")
        return adapter

    def _configured(self, vendor: Source, purpose: str) -> HeldRecordTranslator:
        adapter = self._adapters.get(vendor)
        if adapter is None:
            raise VendorNotReady(
                f"{vendor.value} is not configured: add a [vendors.{vendor.value}] section to the settings "
                f"{purpose} {vendor.value}"
            )
        return adapter
