"""Protection of personal data at rest: AES-256-GCM tokens and HMAC-SHA256 blind indexes.

A ``DataKeyring`` holds the data keys by id (the current one encrypts, every
one decrypts) and one index key. It is immutable: ``rotate()`` returns a new
keyring, which the caller saves.

A token is ``v1.<key id>.<base64url of nonce ‖ ciphertext ‖ tag>`` (no
padding). Its associated data is ``v1.<key id>.<context>``, so a token
decrypts only under the context it was made for (``person.phone`` cannot be
read back as ``person.email``). Nonces are 96 random bits; rotate long before
2**32 encryptions under one key.

A blind index is the hex HMAC-SHA256, under the index key, of
``<purpose> NUL <value>``: it finds a person by a value (such as the
normalised ID number) without storing the value. The index key is never
rotated, since that would mean recomputing every index.

The key file is JSON, written with mode 0600 and replaced atomically::

    {"format": "training-hours-hub/data-keys", "version": 1,
     "current_key_id": "<id>",
     "data_keys": [{"id": "<id>", "key": "<base64 of 32 bytes>"}, ...],
     "index_key": "<base64 of 32 bytes>"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final, NewType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sso.errors import DecryptionFailed, KeyFileInvalid, UnknownDataKey
from sso.json_files import JsonFileRefused, read_json_file

__all__ = [
    "DataKeyId",
    "DataKeyring",
    "key_id_of",
]

DataKeyId = NewType("DataKeyId", str)

TOKEN_VERSION: Final = "v1"  # noqa: S105 -- the version of the token format, not a secret
DATA_KEY_BYTES: Final = 32
INDEX_KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
PLAINTEXT_BYTES_MAX: Final = 64 * 1024
TOKEN_CHARACTERS_MAX: Final = 128 + (NONCE_BYTES + PLAINTEXT_BYTES_MAX + TAG_BYTES) * 4 // 3 + 4
KEY_FILE_BYTES_MAX: Final = 1024 * 1024
DATA_KEYS_MAX: Final = 256
KEY_FILE_FORMAT: Final = "training-hours-hub/data-keys"
KEY_FILE_VERSION: Final = 1
KEY_FILE_MODE: Final = 0o600

_KEY_ID: Final = re.compile(r"[0-9a-z][0-9a-z_-]{0,31}", re.ASCII)
_LABEL: Final = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*", re.ASCII)
_LABEL_CHARACTERS_MAX: Final = 64
_TOKEN: Final = re.compile(r"v1\.([0-9a-z][0-9a-z_-]{0,31})\.([A-Za-z0-9_-]+)", re.ASCII)


class DataKeyring:
    """The data keys by id, the id of the current one, and the index key."""

    __slots__ = ("_current_key_id", "_data_keys", "_index_key")

    def __init__(self, *, data_keys: Mapping[DataKeyId, bytes], current_key_id: DataKeyId, index_key: bytes) -> None:
        """Hold the given keys. Raises ``ValueError`` for a malformed id, key or count."""
        if not 1 <= len(data_keys) <= DATA_KEYS_MAX:
            raise ValueError(f"a keyring holds between 1 and {DATA_KEYS_MAX} data keys")
        if current_key_id not in data_keys:
            raise ValueError("the current key id must name one of the data keys")
        for key_id, key in data_keys.items():
            if _KEY_ID.fullmatch(key_id) is None or len(key) != DATA_KEY_BYTES:
                raise ValueError(f"each data key id matches {_KEY_ID.pattern} and each key has {DATA_KEY_BYTES} bytes")
        if len(index_key) != INDEX_KEY_BYTES:
            raise ValueError(f"the index key has {INDEX_KEY_BYTES} bytes")
        self._data_keys: Mapping[DataKeyId, bytes] = MappingProxyType(dict(data_keys))
        self._current_key_id = current_key_id
        self._index_key = bytes(index_key)

    @classmethod
    def generate(cls) -> DataKeyring:
        """Return a new keyring with one random data key and a random index key."""
        key_id = _new_key_id(frozenset())
        return cls(
            data_keys={key_id: AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)},
            current_key_id=key_id,
            index_key=secrets.token_bytes(INDEX_KEY_BYTES),
        )

    @classmethod
    def load(cls, path: Path) -> DataKeyring:
        """Return the keyring in the key file at ``path``. Raises ``KeyFileInvalid`` naming the fault."""
        try:
            return _keyring_from_document(_read_json(path))
        except KeyFileInvalid as exc:
            raise KeyFileInvalid(f"key file {path}: {exc.detail}") from exc.__cause__

    def save(self, path: Path) -> None:
        """Write the keyring to ``path`` with mode 0600, atomically replacing any file there.

        Raises ``OSError`` when the directory cannot be written.
        """
        content = json.dumps(self._document(), indent=2).encode("utf-8") + b"\n"
        _write_private_file(path, content)

    @property
    def current_key_id(self) -> DataKeyId:
        """The id of the data key that encrypts."""
        return self._current_key_id

    @property
    def key_ids(self) -> tuple[DataKeyId, ...]:
        """The ids of every data key, oldest first."""
        return tuple(self._data_keys)

    def rotate(self) -> DataKeyring:
        """Return a new keyring whose current key is new; every older key still decrypts.

        The keyring itself is unchanged: save the one returned.
        Raises ``ValueError`` when the keyring already holds ``DATA_KEYS_MAX`` keys.
        """
        key_id = _new_key_id(frozenset(self._data_keys))
        new_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
        return DataKeyring(
            data_keys={**self._data_keys, key_id: new_key},
            current_key_id=key_id,
            index_key=self._index_key,
        )

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Return a token holding ``plaintext``, bound to ``context`` (such as ``person.phone``).

        Raises ``ValueError`` for a malformed context or a plaintext over ``PLAINTEXT_BYTES_MAX``.
        """
        _check_label(context, "context")
        data = plaintext.encode("utf-8")
        if len(data) > PLAINTEXT_BYTES_MAX:
            raise ValueError(f"a plaintext has at most {PLAINTEXT_BYTES_MAX} bytes")
        key_id = self._current_key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._data_keys[key_id]).encrypt(nonce, data, _associated_data(key_id, context))
        return f"{TOKEN_VERSION}.{key_id}.{_encode(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        """Return the plaintext of a token made for ``context``.

        Raises ``UnknownDataKey`` for a key this keyring does not hold, and
        ``DecryptionFailed`` for a malformed or tampered token or another context.
        """
        _check_label(context, "context")
        key_id, payload = _parse_token(token)
        key = self._data_keys.get(key_id)
        if key is None:
            raise UnknownDataKey(key_id)
        nonce, sealed = payload[:NONCE_BYTES], payload[NONCE_BYTES:]
        try:
            data = AESGCM(key).decrypt(nonce, sealed, _associated_data(key_id, context))
        except InvalidTag as exc:
            raise DecryptionFailed("the token does not authenticate: tampered, or made for another context") from exc
        return data.decode("utf-8")

    def blind_index(self, value: str, *, purpose: str) -> str:
        """Return the hex HMAC-SHA256 blind index of ``value`` for ``purpose`` (such as ``person.id_number``).

        Normalise the value first: equal indexes need byte-equal values.
        Raises ``ValueError`` for a malformed purpose or a value over ``PLAINTEXT_BYTES_MAX``.
        """
        _check_label(purpose, "purpose")
        data = value.encode("utf-8")
        if len(data) > PLAINTEXT_BYTES_MAX:
            raise ValueError(f"an indexed value has at most {PLAINTEXT_BYTES_MAX} bytes")
        message = purpose.encode("ascii") + b"\x00" + data
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"DataKeyring(current_key_id={self._current_key_id!r}, key_ids={self.key_ids!r})"

    def _document(self) -> dict[str, object]:
        return {
            "format": KEY_FILE_FORMAT,
            "version": KEY_FILE_VERSION,
            "current_key_id": self._current_key_id,
            "data_keys": [{"id": key_id, "key": _encode_key(key)} for key_id, key in self._data_keys.items()],
            "index_key": _encode_key(self._index_key),
        }


def key_id_of(token: str) -> DataKeyId:
    """Return the id of the data key a token was made with, to find tokens to re-encrypt.

    Raises ``DecryptionFailed`` for a malformed token.
    """
    key_id, _ = _parse_token(token)
    return key_id


def _new_key_id(taken: frozenset[str]) -> DataKeyId:
    while True:
        key_id = DataKeyId(secrets.token_hex(8))
        if key_id not in taken:
            return key_id


def _check_label(label: str, name: str) -> None:
    if len(label) > _LABEL_CHARACTERS_MAX or _LABEL.fullmatch(label) is None:
        raise ValueError(f"a {name} is up to {_LABEL_CHARACTERS_MAX} characters of dotted [a-z0-9_] words")


def _associated_data(key_id: DataKeyId, context: str) -> bytes:
    return f"{TOKEN_VERSION}.{key_id}.{context}".encode("ascii")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _parse_token(token: str) -> tuple[DataKeyId, bytes]:
    if len(token) > TOKEN_CHARACTERS_MAX:
        raise DecryptionFailed("the token is longer than any token this keyring makes")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise DecryptionFailed("the token is not of the form v1.<key id>.<base64url>")
    text = match[2]
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise DecryptionFailed("the token's payload is not base64url") from exc
    if _encode(payload) != text:
        raise DecryptionFailed("the token's payload is not canonical base64url")
    if len(payload) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailed("the token's payload is too short")
    return DataKeyId(match[1]), payload


def _encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _read_json(path: Path) -> object:
    try:
        return read_json_file(path, KEY_FILE_BYTES_MAX)
    except JsonFileRefused as refused:
        raise KeyFileInvalid(str(refused)) from None  # never the names: the message stays the same for any key file


def _keyring_from_document(document: object) -> DataKeyring:
    if not isinstance(document, dict):
        raise KeyFileInvalid("not a JSON object")
    _expect_names(document, {"format", "version", "current_key_id", "data_keys", "index_key"}, "the top level")
    if document["format"] != KEY_FILE_FORMAT or document["version"] != KEY_FILE_VERSION:
        raise KeyFileInvalid(f"not of format {KEY_FILE_FORMAT!r} version {KEY_FILE_VERSION}")
    data_keys = _data_keys_from(document["data_keys"])
    current_key_id = document["current_key_id"]
    if not isinstance(current_key_id, str) or current_key_id not in data_keys:
        raise KeyFileInvalid("current_key_id does not name one of data_keys")
    index_key = _decode_key(document["index_key"], "index_key", INDEX_KEY_BYTES)
    return DataKeyring(data_keys=data_keys, current_key_id=DataKeyId(current_key_id), index_key=index_key)


def _data_keys_from(entries: object) -> dict[DataKeyId, bytes]:
    if not isinstance(entries, list) or not 1 <= len(entries) <= DATA_KEYS_MAX:
        raise KeyFileInvalid(f"data_keys is a list of 1 to {DATA_KEYS_MAX} keys")
    data_keys: dict[DataKeyId, bytes] = {}
    for position, entry in enumerate(entries):
        where = f"data_keys[{position}]"
        if not isinstance(entry, dict):
            raise KeyFileInvalid(f"{where} is not an object")
        _expect_names(entry, {"id", "key"}, where)
        key_id = entry["id"]
        if not isinstance(key_id, str) or _KEY_ID.fullmatch(key_id) is None:
            raise KeyFileInvalid(f"{where}.id does not match {_KEY_ID.pattern}")
        if key_id in data_keys:
            raise KeyFileInvalid(f"{where}.id repeats the id {key_id!r}")
        data_keys[DataKeyId(key_id)] = _decode_key(entry["key"], f"{where}.key", DATA_KEY_BYTES)
    return data_keys


def _expect_names(entry: dict[str, object], names: set[str], where: str) -> None:
    if set(entry) != names:
        raise KeyFileInvalid(f"{where} has the names {sorted(entry)}, not {sorted(names)}")


def _decode_key(text: object, where: str, length_bytes: int) -> bytes:
    if not isinstance(text, str):
        raise KeyFileInvalid(f"{where} is not a string")
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise KeyFileInvalid(f"{where} is not base64") from exc
    if len(key) != length_bytes:
        raise KeyFileInvalid(f"{where} is not a key of {length_bytes} bytes")
    return key


def _write_private_file(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), KEY_FILE_MODE)
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
