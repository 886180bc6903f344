"""Personal data at rest: AES-256-GCM tokens, blind indexes, rotation and the key file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sso.errors import DecryptionFailed, KeyFileInvalid, UnknownDataKey
from sso.personal_data import PLAINTEXT_BYTES_MAX, DataKeyId, DataKeyring, key_id_of

TOKEN = re.compile(r"v1\.([0-9a-f]{16})\.([A-Za-z0-9_-]+)")
PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"

# One keyring for the whole module: generating keys is cheap, but properties run many examples.
KEYRING = DataKeyring.generate()
OTHER_KEYRING = DataKeyring.generate()


def _keyring_with(data_keys: dict[str, bytes], current_key_id: str, index_key: bytes = bytes(32)) -> DataKeyring:
    keys = {DataKeyId(key_id): key for key_id, key in data_keys.items()}
    return DataKeyring(data_keys=keys, current_key_id=DataKeyId(current_key_id), index_key=index_key)


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# Tokens.


def test_a_token_is_compact_text_naming_its_key() -> None:
    token = KEYRING.encrypt(PHONE, context="person.phone")

    match = TOKEN.fullmatch(token)
    assert match is not None
    assert match[1] == KEYRING.current_key_id
    assert len(_decode(match[2])) == 12 + len(PHONE) + 16
    assert PHONE not in token
    assert key_id_of(token) == KEYRING.current_key_id


@given(st.text(max_size=200), st.sampled_from(["person.phone", "person.email", "person.id_number", "x"]))
def test_decrypting_gives_back_the_plaintext(plaintext: str, context: str) -> None:
    assert KEYRING.decrypt(KEYRING.encrypt(plaintext, context=context), context=context) == plaintext


@given(st.text(max_size=50))
def test_the_same_plaintext_gives_different_tokens(plaintext: str) -> None:
    first = KEYRING.encrypt(plaintext, context="person.phone")
    second = KEYRING.encrypt(plaintext, context="person.phone")

    assert first != second


@given(st.text(max_size=50))
def test_a_token_does_not_decrypt_under_another_context(plaintext: str) -> None:
    token = KEYRING.encrypt(plaintext, context="person.phone")

    with pytest.raises(DecryptionFailed):
        KEYRING.decrypt(token, context="person.email")


@given(st.data())
def test_a_tampered_token_does_not_decrypt(data: st.DataObject) -> None:
    token = KEYRING.encrypt(PHONE, context="person.phone")
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    replacement = data.draw(st.sampled_from("AZaz09-_.="), label="replacement")
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return

    with pytest.raises((DecryptionFailed, UnknownDataKey)):
        KEYRING.decrypt(tampered, context="person.phone")


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda token: token[:-1],
        lambda token: token[: token.rindex(".") + 10],
        lambda token: token + "A",
        lambda token: token.replace("v1.", "v2.", 1),
        lambda token: token.replace(".", ":"),
        lambda token: token + "==",
        lambda token: token + " ",
        lambda token: "",
        lambda token: "v1..",
        lambda token: "v1." + token.split(".")[1] + ".",
        lambda token: "v1." + token.split(".")[1] + ".AAAA",
        lambda token: token + "A" * 200_000,
    ],
    ids=[
        "truncated by one",
        "truncated payload",
        "extended",
        "other version",
        "other separators",
        "padded",
        "trailing space",
        "empty",
        "empty parts",
        "empty payload",
        "short payload",
        "oversized",
    ],
)
def test_a_malformed_token_does_not_decrypt(make_bad: Callable[[str], str]) -> None:
    token = KEYRING.encrypt(PHONE, context="person.phone")

    with pytest.raises(DecryptionFailed):
        KEYRING.decrypt(make_bad(token), context="person.phone")


def test_a_payload_in_non_canonical_base64url_does_not_decrypt() -> None:
    token = KEYRING.encrypt("a", context="person.phone")  # 29 bytes: the last character has 2 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    payload = token.rsplit(".", 1)[1]
    variants = [
        token[:-1] + last for last in alphabet if last != token[-1] and _decode(payload[:-1] + last) == _decode(payload)
    ]

    assert variants
    for variant in variants:
        with pytest.raises(DecryptionFailed, match="canonical"):
            KEYRING.decrypt(variant, context="person.phone")


def test_a_token_of_another_keyring_names_an_unknown_key() -> None:
    token = OTHER_KEYRING.encrypt(PHONE, context="person.phone")

    with pytest.raises(UnknownDataKey) as caught:
        KEYRING.decrypt(token, context="person.phone")

    assert caught.value.key_id == OTHER_KEYRING.current_key_id
    assert caught.value.code == "unknown_data_key"


def test_a_token_under_the_same_key_id_but_another_key_does_not_decrypt() -> None:
    first = _keyring_with({"k1": bytes(32)}, "k1")
    second = _keyring_with({"k1": bytes([1]) * 32}, "k1")

    with pytest.raises(DecryptionFailed):
        second.decrypt(first.encrypt(PHONE, context="person.phone"), context="person.phone")


def test_the_messages_never_hold_the_plaintext() -> None:
    token = KEYRING.encrypt(PHONE, context="person.phone")
    with pytest.raises(DecryptionFailed) as caught:
        KEYRING.decrypt(token, context="person.email")

    assert PHONE not in str(caught.value)
    assert token not in str(caught.value)


@pytest.mark.parametrize("context", ["", "Person.phone", "person..phone", ".person", "person phone", "人员", "a" * 65])
def test_a_malformed_context_is_a_programming_error(context: str) -> None:
    with pytest.raises(ValueError, match="context"):
        KEYRING.encrypt(PHONE, context=context)
    with pytest.raises(ValueError, match="context"):
        KEYRING.decrypt(KEYRING.encrypt(PHONE, context="person.phone"), context=context)


def test_a_plaintext_over_the_limit_is_refused() -> None:
    assert KEYRING.decrypt(KEYRING.encrypt("a" * PLAINTEXT_BYTES_MAX, context="c"), context="c")
    with pytest.raises(ValueError, match="at most"):
        KEYRING.encrypt("a" * (PLAINTEXT_BYTES_MAX + 1), context="c")


def test_key_id_of_refuses_a_malformed_token() -> None:
    with pytest.raises(DecryptionFailed):
        key_id_of("v1.not a token")


# Rotation.


@given(st.text(max_size=50))
def test_rotation_keeps_old_tokens_readable(plaintext: str) -> None:
    old_token = KEYRING.encrypt(plaintext, context="person.phone")

    rotated = KEYRING.rotate()
    new_token = rotated.encrypt(plaintext, context="person.phone")

    assert rotated.decrypt(old_token, context="person.phone") == plaintext
    assert rotated.decrypt(new_token, context="person.phone") == plaintext
    assert key_id_of(old_token) == KEYRING.current_key_id
    assert key_id_of(new_token) == rotated.current_key_id


def test_rotation_returns_a_new_keyring_and_leaves_the_old_one_alone() -> None:
    rotated = KEYRING.rotate().rotate()

    assert rotated.current_key_id not in KEYRING.key_ids
    assert rotated.key_ids[0] == KEYRING.current_key_id
    assert len(rotated.key_ids) == len(set(rotated.key_ids)) == len(KEYRING.key_ids) + 2
    assert KEYRING.current_key_id == KEYRING.key_ids[-1]
    with pytest.raises(UnknownDataKey):
        KEYRING.decrypt(rotated.encrypt(PHONE, context="person.phone"), context="person.phone")


def test_rotation_keeps_the_blind_index() -> None:
    assert KEYRING.rotate().blind_index(ID_NUMBER, purpose="person.id_number") == KEYRING.blind_index(
        ID_NUMBER, purpose="person.id_number"
    )


# Blind indexes.


@given(st.text(max_size=50))
def test_a_blind_index_is_stable_hex(value: str) -> None:
    index = KEYRING.blind_index(value, purpose="person.id_number")

    assert re.fullmatch(r"[0-9a-f]{64}", index)
    assert KEYRING.blind_index(value, purpose="person.id_number") == index


@given(st.text(max_size=30), st.text(max_size=30))
def test_different_values_have_different_blind_indexes(first: str, second: str) -> None:
    if first != second:
        assert KEYRING.blind_index(first, purpose="p") != KEYRING.blind_index(second, purpose="p")


@given(st.text(max_size=50))
def test_a_blind_index_depends_on_the_key_and_the_purpose(value: str) -> None:
    index = KEYRING.blind_index(value, purpose="person.id_number")

    assert OTHER_KEYRING.blind_index(value, purpose="person.id_number") != index
    assert KEYRING.blind_index(value, purpose="person.phone") != index


def test_a_blind_index_is_hmac_sha256_of_purpose_nul_value() -> None:
    index_key = bytes(range(32))
    keyring = _keyring_with({"k1": bytes(32)}, "k1", index_key=index_key)

    expected = hmac.new(index_key, "person.name\x00张三".encode(), hashlib.sha256).hexdigest()
    assert keyring.blind_index("张三", purpose="person.name") == expected


def test_a_blind_index_refuses_a_malformed_purpose() -> None:
    with pytest.raises(ValueError, match="purpose"):
        KEYRING.blind_index(ID_NUMBER, purpose="person id")


# Constructing a keyring.


@pytest.mark.parametrize(
    ("data_keys", "current_key_id", "index_key"),
    [
        ({}, "k1", bytes(32)),
        ({"k1": bytes(32)}, "k2", bytes(32)),
        ({"k1": bytes(16)}, "k1", bytes(32)),
        ({"K1": bytes(32)}, "K1", bytes(32)),
        ({"k.1": bytes(32)}, "k.1", bytes(32)),
        ({"k1": bytes(32)}, "k1", bytes(31)),
    ],
    ids=["no keys", "unknown current", "short key", "upper-case id", "dotted id", "short index key"],
)
def test_a_malformed_keyring_is_a_programming_error(
    data_keys: dict[str, bytes], current_key_id: str, index_key: bytes
) -> None:
    with pytest.raises(ValueError, match="key"):
        _keyring_with(data_keys, current_key_id, index_key)


def test_the_representation_shows_key_ids_and_never_keys() -> None:
    keyring = _keyring_with({"k1": b"\x07" * 32}, "k1", index_key=b"\x09" * 32)

    assert repr(keyring) == "DataKeyring(current_key_id='k1', key_ids=('k1',))"


# The key file.


def test_a_saved_keyring_loads_back_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data-keys.json"
    keyring = DataKeyring.generate().rotate()
    token = keyring.encrypt(PHONE, context="person.phone")

    keyring.save(path)
    loaded = DataKeyring.load(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert loaded.key_ids == keyring.key_ids
    assert loaded.current_key_id == keyring.current_key_id
    assert loaded.decrypt(token, context="person.phone") == PHONE
    assert loaded.blind_index(ID_NUMBER, purpose="p") == keyring.blind_index(ID_NUMBER, purpose="p")
    assert [entry.name for entry in tmp_path.iterdir()] == ["data-keys.json"]


def test_saving_replaces_the_file_and_keeps_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data-keys.json"
    path.write_text("old")
    path.chmod(0o644)

    KEYRING.save(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DataKeyring.load(path).current_key_id == KEYRING.current_key_id


def test_the_key_file_has_the_documented_shape(tmp_path: Path) -> None:
    path = tmp_path / "data-keys.json"
    KEYRING.save(path)

    document = json.loads(path.read_text())

    assert document["format"] == "training-hours-hub/data-keys"
    assert document["version"] == 1
    assert document["current_key_id"] == KEYRING.current_key_id
    assert [entry["id"] for entry in document["data_keys"]] == list(KEYRING.key_ids)
    assert all(len(base64.b64decode(entry["key"])) == 32 for entry in document["data_keys"])
    assert len(base64.b64decode(document["index_key"])) == 32


def _valid_document() -> dict[str, object]:
    return {
        "format": "training-hours-hub/data-keys",
        "version": 1,
        "current_key_id": "k2",
        "data_keys": [
            {"id": "k1", "key": base64.b64encode(b"\x01" * 32).decode()},
            {"id": "k2", "key": base64.b64encode(b"\x02" * 32).decode()},
        ],
        "index_key": base64.b64encode(b"\x03" * 32).decode(),
    }


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_written_key_file_loads(tmp_path: Path) -> None:
    keyring = DataKeyring.load(_write(tmp_path / "keys.json", _valid_document()))

    assert keyring.key_ids == ("k1", "k2")
    assert keyring.current_key_id == "k2"


def _with(change: dict[str, object]) -> dict[str, object]:
    return {**_valid_document(), **change}


SECRET_TEXTS = [base64.b64encode(bytes([value]) * 32).decode() for value in (1, 2, 3)]


@pytest.mark.parametrize(
    ("document", "fault"),
    [
        ([], "not a JSON object"),
        (_with({"format": "other"}), "not of format"),
        (_with({"version": 2}), "not of format"),
        (_with({"extra": 1}), "names"),
        ({key: value for key, value in _valid_document().items() if key != "index_key"}, "names"),
        (_with({"current_key_id": "k3"}), "current_key_id"),
        (_with({"current_key_id": 1}), "current_key_id"),
        (_with({"data_keys": []}), "data_keys is a list"),
        (_with({"data_keys": "k1"}), "data_keys is a list"),
        (_with({"data_keys": ["k1"]}), "data_keys[0] is not an object"),
        (_with({"data_keys": [{"id": "k2"}]}), "data_keys[0] has the names"),
        (_with({"data_keys": [{"id": "K 2", "key": SECRET_TEXTS[0]}]}), "data_keys[0].id"),
        (_with({"data_keys": [{"id": "k2", "key": SECRET_TEXTS[0]}, {"id": "k2", "key": SECRET_TEXTS[1]}]}), "repeats"),
        (_with({"data_keys": [{"id": "k2", "key": SECRET_TEXTS[0][:-4]}]}), "data_keys[0].key is not a key of 32"),
        (_with({"data_keys": [{"id": "k2", "key": SECRET_TEXTS[0] + "!"}]}), "data_keys[0].key is not base64"),
        (_with({"data_keys": [{"id": "k2", "key": 12}]}), "data_keys[0].key is not a string"),
        (_with({"index_key": SECRET_TEXTS[2][:8]}), "index_key is not a key of 32"),
    ],
)
def test_an_invalid_key_file_is_refused_without_showing_keys(tmp_path: Path, document: object, fault: str) -> None:
    path = _write(tmp_path / "keys.json", document)

    with pytest.raises(KeyFileInvalid) as caught:
        DataKeyring.load(path)

    message = str(caught.value)
    assert fault in message
    assert str(path) in message
    assert all(secret[:8] not in message for secret in SECRET_TEXTS)


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"{", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"format": 1, "format": 2}', "repeats a name"),
        (b" " * (1024 * 1024 + 1), "over"),
    ],
)
def test_a_key_file_that_is_not_a_json_document_is_refused(tmp_path: Path, content: bytes, fault: str) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(content)

    with pytest.raises(KeyFileInvalid, match=fault):
        DataKeyring.load(path)


def test_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileInvalid, match="cannot be read") as caught:
        DataKeyring.load(tmp_path / "absent.json")

    assert caught.value.code == "key_file_invalid"


@settings(max_examples=20)
@given(st.integers(min_value=1, max_value=5))
def test_repeated_rotation_keeps_every_token_readable(rotations: int) -> None:
    keyring = DataKeyring.generate()
    tokens = []
    for step in range(rotations):
        tokens.append((str(step), keyring.encrypt(str(step), context="c")))
        keyring = keyring.rotate()

    assert [keyring.decrypt(token, context="c") for _, token in tokens] == [plaintext for plaintext, _ in tokens]
