"""From a signed form notification to what the ledger should decide about, checking in the spec's order.

vendors.md, section 3: known ``appid``, valid signature, timestamp within 300 s, nonce not seen in
the last 10 minutes, the fields valid (the GB 11643 check digit included). The first check that
fails is the answer, and nothing is stored (the nonce aside: it is spent once the signature and the
timestamp are good, so a captured request cannot be replayed even to learn which field is wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.hnou.errors import NonceRefused, UnknownAppid
from adapters.hnou.form import check_appid, check_timestamp, nonce_of, read_form, verify_sign
from adapters.hnou.model import FORM, read_record
from adapters.hnou.ports import NonceRegister
from adapters.hnou.translation import Translator
from ledger.model import Delivery


@dataclass(frozen=True, slots=True)
class FormCredentials:
    """hnou's ``appid`` and ``appsecret`` as configured; ``None`` when hnou is not configured."""

    appid: str
    appsecret: str


class HnouReceiver:
    """Turns hnou's signed forms into ledger deliveries."""

    def __init__(self, credentials: FormCredentials | None, nonces: NonceRegister, translator: Translator) -> None:
        self._credentials = credentials
        self._nonces = nonces
        self._translator = translator

    async def receive(self, body: bytes, content_type: str, charset: str | None, now: datetime) -> Delivery:
        """The delivery a form asks for. Raises a ``NotificationRefused`` (its ``reason`` is the
        answer) or ``HnouUnavailable``; stores nothing but the nonce."""
        fields = read_form(body, content_type, charset)
        credentials = self._credentials
        if credentials is None:
            raise UnknownAppid("hnou is not configured: no appid is known")
        check_appid(fields, credentials.appid)
        verify_sign(fields, credentials.appsecret)
        timestamp = check_timestamp(fields, now)
        nonce = nonce_of(fields)
        if not await self._nonces.first_use(credentials.appid, nonce, now):
            raise NonceRefused("reused_nonce", "the nonce was used in the last 10 minutes")
        record = read_record(fields, FORM)
        command = await self._translator.command(record, FORM)
        return Delivery(command, f"form:{timestamp}:{nonce}", now)
