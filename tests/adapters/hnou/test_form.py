"""hnou's signed forms as the tool posts them: the signature, the checks in the spec's order, and
what each record becomes. The forms are built and signed here by hand, from vendors.md alone."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from adapters.hnou.errors import FieldsInvalid, HnouUnavailable, NotificationRefused
from adapters.hnou.form import sign, signing_string
from adapters.hnou.receiver import FormCredentials, HnouReceiver
from adapters.hnou.translation import HOLD_PAYLOAD_CONTEXT, Translator
from ledger.errors import NoRulesForYear
from ledger.model import Command, Credit, Hold, HoldReason, Reversal
from sso.personal_data import DataKeyring

from ..conftest import FakeLearnerDirectory

APPID = "hub-test"
APPSECRET = "the-app-secret"
NOW = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
ID_NUMBER = "11010519491231002X"
STRANGER = "110105194912310011"
FORM = "application/x-www-form-urlencoded"
COMPLETION = {
    "appid": APPID,
    "record_no": "HN-0001",
    "idcard": ID_NUMBER,
    "kcbh": "XJP-2021-01",
    "kcmc": "习近平新时代 中国特色",
    "kmlx": "1",
    "xs": "3.5",
    "wcsj": "20210601095812",
    "zt": "1",
}
# The signature of COMPLETION with nonce 0123456789abcdef at NOW, computed apart from this code:
# printf '%s' 'appid=hub-test&idcard=…&zt=1' | openssl dgst -sha256 -hmac the-app-secret
KNOWN_SIGN = "D20BCD4D58C84B2CEC573FB9B1F4FE2A58D1B8AA9F7D7A1E7100C709CDE0E2E4"


def signed(fields: dict[str, str], *, at: datetime = NOW, nonce: str = "0123456789abcdef") -> dict[str, str]:
    """Stamp and sign a form the way vendors.md says, without the hub's code."""
    return signed_as_is({**fields, "timestamp": str(int(at.timestamp())), "nonce": nonce})


def signed_as_is(stamped: dict[str, str]) -> dict[str, str]:
    text = "&".join(f"{name}={stamped[name]}" for name in sorted(stamped) if stamped[name])
    signature = hmac.new(APPSECRET.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return {**stamped, "sign_type": "HMAC-SHA256", "sign": signature}


def body_of(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


class FakeNonces:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.down = False

    async def first_use(self, appid: str, nonce: str, now: datetime) -> bool:
        if self.down:
            raise HnouUnavailable("the nonces cannot be stored")
        fresh = (appid, nonce) not in self.seen
        self.seen.add((appid, nonce))
        return fresh


def check_2021_only(command: Command) -> None:
    if isinstance(command, Credit) and command.year != 2021:
        raise NoRulesForYear(command.year)


@pytest.fixture
def nonces() -> FakeNonces:
    return FakeNonces()


@pytest.fixture
def receiver(directory: FakeLearnerDirectory, keyring: DataKeyring, nonces: FakeNonces) -> HnouReceiver:
    translator = Translator(directory.person_for_id_number, keyring, check_2021_only)
    return HnouReceiver(FormCredentials(APPID, APPSECRET), nonces, translator)


async def refusal(receiver: HnouReceiver, body: bytes, content_type: str = FORM, now: datetime = NOW) -> str:
    with pytest.raises(NotificationRefused) as refused:
        await receiver.receive(body, content_type, None, now)
    return refused.value.reason


def test_the_signature_matches_one_computed_apart() -> None:
    form = signed(COMPLETION)

    assert form["sign"] == KNOWN_SIGN
    assert sign(form, APPSECRET) == KNOWN_SIGN


def test_the_signing_string_sorts_names_and_leaves_out_empty_fields_and_the_signature() -> None:
    fields = {"zt": "1", "kcmc": "", "appid": "a", "sign": "X", "sign_type": "HMAC-SHA256", "Z": "&=", "xs": "1 2"}

    assert signing_string(fields) == "Z=&=&appid=a&xs=1 2&zt=1"


async def test_a_completion_becomes_a_credit_of_exact_hours_in_beijing_time(receiver: HnouReceiver) -> None:
    delivery = await receiver.receive(body_of(signed(COMPLETION)), FORM, None, NOW)

    credit = delivery.command
    assert isinstance(credit, Credit)
    assert (credit.person_id, credit.source, credit.record_id, credit.course_code, credit.hours) == (
        "person-li",
        "hnou",
        "HN-0001",
        "XJP-2021-01",
        350,
    )
    assert credit.course_title == "习近平新时代 中国特色"
    assert credit.completed_at == datetime(2021, 6, 1, 1, 58, 12, tzinfo=UTC)
    assert delivery.delivery_id == "form:1622512800:0123456789abcdef"


async def test_a_lower_case_x_is_the_same_id_number(receiver: HnouReceiver) -> None:
    form = signed({**COMPLETION, "idcard": ID_NUMBER.lower()})

    delivery = await receiver.receive(body_of(form), FORM, None, NOW)

    assert isinstance(delivery.command, Credit)
    assert delivery.command.person_id == "person-li"


async def test_a_revocation_becomes_a_reversal_and_needs_only_its_record_number(receiver: HnouReceiver) -> None:
    form = signed({"appid": APPID, "record_no": "HN-0001", "zt": "0"})

    delivery = await receiver.receive(body_of(form), FORM, None, NOW)

    assert isinstance(delivery.command, Reversal)
    assert (delivery.command.source, delivery.command.record_id) == ("hnou", "HN-0001")


async def test_an_unknown_id_number_is_held_encrypted(receiver: HnouReceiver, keyring: DataKeyring) -> None:
    form = signed({**COMPLETION, "idcard": STRANGER})

    delivery = await receiver.receive(body_of(form), FORM, None, NOW)

    hold = delivery.command
    assert isinstance(hold, Hold)
    assert hold.reason is HoldReason.UNKNOWN_PERSON
    assert STRANGER not in hold.payload
    assert STRANGER not in hold.detail
    assert f'"id_number":"{STRANGER}"' in keyring.decrypt(hold.payload, context=HOLD_PAYLOAD_CONTEXT)


async def test_the_same_record_gives_the_same_hashes_whatever_the_try(
    receiver: HnouReceiver, directory: FakeLearnerDirectory
) -> None:
    first = await receiver.receive(body_of(signed(COMPLETION, nonce="a" * 16)), FORM, None, NOW)
    retitled = {**COMPLETION, "kcmc": "another title"}
    second = await receiver.receive(body_of(signed(retitled, nonce="b" * 16)), FORM, None, NOW)

    assert isinstance(first.command, Credit)
    assert isinstance(second.command, Credit)
    assert first.command.content_hash == second.command.content_hash
    assert first.command.payload_hash == second.command.payload_hash
    assert ID_NUMBER not in first.command.payload_hash


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda form: {**form, "xs": "9.5"}, "invalid_sign"),
        (lambda form: {**form, "idcard": STRANGER}, "invalid_sign"),
        (lambda form: {**form, "extra": "x"}, "invalid_sign"),
        (lambda form: {**form, "sign": form["sign"].lower()}, "invalid_sign"),
        (lambda form: {**form, "sign_type": "MD5"}, "invalid_sign"),
        (lambda form: {key: value for key, value in form.items() if key != "sign"}, "invalid_sign"),
        (lambda form: {**form, "appid": "someone-else"}, "unknown_appid"),
        (lambda form: {key: value for key, value in form.items() if key != "appid"}, "unknown_appid"),
    ],
)
async def test_tampered_forms_are_refused(
    receiver: HnouReceiver, tamper: Callable[[dict[str, str]], dict[str, str]], reason: str
) -> None:
    assert await refusal(receiver, body_of(tamper(signed(COMPLETION)))) == reason


@pytest.mark.parametrize("skew_seconds", [-301, 301])
async def test_timestamps_beyond_300_seconds_either_way_are_refused(receiver: HnouReceiver, skew_seconds: int) -> None:
    form = signed(COMPLETION, at=NOW + timedelta(seconds=skew_seconds))

    assert await refusal(receiver, body_of(form)) == "invalid_timestamp"


@pytest.mark.parametrize("timestamp", ["soon", "", "1622512800.5", "-1622512800", "1" * 13])
async def test_malformed_timestamps_are_refused(receiver: HnouReceiver, timestamp: str) -> None:
    form = signed_as_is({**COMPLETION, "timestamp": timestamp, "nonce": "0123456789abcdef"})

    assert await refusal(receiver, body_of(form)) == "invalid_timestamp"


async def test_a_timestamp_300_seconds_away_is_accepted(receiver: HnouReceiver) -> None:
    form = signed(COMPLETION, at=NOW - timedelta(seconds=300))

    delivery = await receiver.receive(body_of(form), FORM, None, NOW)

    assert isinstance(delivery.command, Credit)


@pytest.mark.parametrize("nonce", ["0123456789abcde", "n" * 65, "with space 0123456", "非ascii非ascii非ascii非ascii"])
async def test_nonces_must_have_16_to_64_printable_characters(receiver: HnouReceiver, nonce: str) -> None:
    assert await refusal(receiver, body_of(signed(COMPLETION, nonce=nonce))) == "invalid_nonce"


async def test_a_reused_nonce_is_refused_even_with_a_fresh_signature(receiver: HnouReceiver) -> None:
    await receiver.receive(body_of(signed(COMPLETION, nonce="n" * 64)), FORM, None, NOW)
    later = NOW + timedelta(seconds=60)

    assert await refusal(receiver, body_of(signed(COMPLETION, at=later, nonce="n" * 64)), now=later) == "reused_nonce"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"idcard": "110105194912310021"}, "invalid_field:idcard"),
        ({"idcard": "11010519491231002"}, "invalid_field:idcard"),
        ({"idcard": ""}, "invalid_field:idcard"),
        ({"kmlx": "3"}, "invalid_field:kmlx"),
        ({"xs": "1.005"}, "invalid_field:xs"),
        ({"xs": "0"}, "invalid_field:xs"),
        ({"xs": "100.01"}, "invalid_field:xs"),
        ({"xs": "1e1"}, "invalid_field:xs"),
        ({"xs": "-1"}, "invalid_field:xs"),
        ({"wcsj": "2021-06-01 09:58:12"}, "invalid_field:wcsj"),
        ({"wcsj": "20210631095812"}, "invalid_field:wcsj"),
        ({"wcsj": "20190601095812"}, "invalid_field:wcsj"),
        ({"zt": "2"}, "invalid_field:zt"),
        ({"zt": ""}, "invalid_field:zt"),
        ({"record_no": ""}, "invalid_field:record_no"),
        ({"record_no": "x" * 65}, "invalid_field:record_no"),
        ({"kcbh": ""}, "invalid_field:kcbh"),
        ({"kcmc": "标题" * 101}, "invalid_field:kcmc"),
        ({"kcmc": "nul\x00byte"}, "invalid_field:kcmc"),
        ({"kcbh": "line\nbreak"}, "invalid_field:kcbh"),
        ({"xs": "abc", "kmlx": "9", "idcard": "x"}, "invalid_field:idcard,kmlx,xs"),
    ],
)
async def test_malformed_fields_are_named(receiver: HnouReceiver, changes: dict[str, str], reason: str) -> None:
    assert await refusal(receiver, body_of(signed({**COMPLETION, **changes}))) == reason


async def test_line_breaks_in_a_title_become_one_space(receiver: HnouReceiver) -> None:
    delivery = await receiver.receive(body_of(signed({**COMPLETION, "kcmc": "第一行\r\n\t第二行"})), FORM, None, NOW)

    assert isinstance(delivery.command, Credit)
    assert delivery.command.course_title == "第一行 第二行"


async def test_a_revocation_with_a_bad_field_given_is_refused(receiver: HnouReceiver) -> None:
    form = signed({"appid": APPID, "record_no": "HN-0001", "zt": "0", "idcard": "110105194912310021"})

    assert await refusal(receiver, body_of(form)) == "invalid_field:idcard"


async def test_the_id_number_is_never_in_a_refusal(receiver: HnouReceiver) -> None:
    bad = "110105194912310021"
    with pytest.raises(FieldsInvalid) as refused:
        await receiver.receive(body_of(signed({**COMPLETION, "idcard": bad})), FORM, None, NOW)

    assert bad not in str(refused.value)
    assert bad not in refused.value.reason


# Each case breaks two checks; the earlier one in the spec's order is the answer.
@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({**signed(COMPLETION), "appid": "other", "sign": "0" * 64}, "unknown_appid"),
        ({**signed(COMPLETION, at=NOW - timedelta(hours=1)), "sign": "0" * 64}, "invalid_sign"),
        (signed(COMPLETION, at=NOW - timedelta(hours=1), nonce="short"), "invalid_timestamp"),
        (signed({**COMPLETION, "xs": "bad"}, nonce="short"), "invalid_nonce"),
    ],
)
async def test_checks_run_in_the_spec_order(receiver: HnouReceiver, form: dict[str, str], reason: str) -> None:
    assert await refusal(receiver, body_of(form)) == reason


async def test_the_nonce_is_checked_before_the_fields(receiver: HnouReceiver) -> None:
    bad = body_of(signed({**COMPLETION, "xs": "bad"}))

    assert await refusal(receiver, bad) == "invalid_field:xs"
    assert await refusal(receiver, bad) == "reused_nonce"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (body_of(signed(COMPLETION)), "application/json"),
        (body_of(signed(COMPLETION)) + b"&zt=0", FORM),
        (b"appid=%FF%FE", FORM),
        ("appid=中".encode("gb18030"), FORM),
        (b"&".join(b"f%d=1" % number for number in range(40)), FORM),
    ],
)
async def test_bodies_that_are_no_single_valued_utf8_form_are_refused(
    receiver: HnouReceiver, body: bytes, content_type: str
) -> None:
    assert await refusal(receiver, body, content_type) == "invalid_body"


async def test_a_body_over_the_limit_is_refused(receiver: HnouReceiver) -> None:
    body = body_of({**signed(COMPLETION), "padding": "x" * 9000})

    assert await refusal(receiver, body) == "body_too_large"


async def test_without_hnou_configured_no_appid_is_known(
    directory: FakeLearnerDirectory, keyring: DataKeyring, nonces: FakeNonces
) -> None:
    receiver = HnouReceiver(None, nonces, Translator(directory.person_for_id_number, keyring, check_2021_only))

    assert await refusal(receiver, body_of(signed(COMPLETION))) == "unknown_appid"


async def test_nonces_that_cannot_be_stored_make_the_hub_unavailable(
    receiver: HnouReceiver, nonces: FakeNonces
) -> None:
    nonces.down = True

    with pytest.raises(HnouUnavailable):
        await receiver.receive(body_of(signed(COMPLETION)), FORM, None, NOW)


async def test_the_training_year_is_the_beijing_year_of_completion(receiver: HnouReceiver) -> None:
    new_years_eve = await receiver.receive(body_of(signed({**COMPLETION, "wcsj": "20211231233000"})), FORM, None, NOW)

    assert isinstance(new_years_eve.command, Credit)
    assert new_years_eve.command.year == 2021
    assert new_years_eve.command.completed_at == datetime(2021, 12, 31, 15, 30, tzinfo=UTC)
    new_year = body_of(signed({**COMPLETION, "wcsj": "20220101000500"}, nonce="n" * 20))
    assert await refusal(receiver, new_year) == "invalid_field:wcsj"
