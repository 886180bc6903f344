"""The hub's settings: one frozen tree, read once from TOML and the environment.

`load_settings` reads the TOML file named by `HUB_CONFIG` (default `./hub.toml`),
lays the `HUB__<SECTION>__<KEY>` environment variables over it, reads the secrets
given as `<key>_file`, and validates the whole into `Settings`. Anything missing
or invalid raises one `SettingsError` naming every offending key.
"""

import base64
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Self, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2.profiles import RFC_9106_LOW_MEMORY
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    SerializerFunctionWrapHandler,
    StringConstraints,
    WrapSerializer,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENT_PREFIX = "HUB__"
ENVIRONMENT_DELIMITER = "__"
BEIJING_TIME = ZoneInfo("Asia/Shanghai")
ASYNC_DATABASE_DRIVERS = frozenset({"sqlite+aiosqlite", "postgresql+asyncpg"})
SECRET_LENGTH_MAX = 4096
URL_LENGTH_MAX = 2048
TEXT_LENGTH_MAX = 200
HOURS_MAX = Decimal(1000)
HOURS_PER_DAY_MAX = Decimal(24)
SECONDS_PER_DAY = 86_400

_DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_TOPIC_PATTERN = r"^[a-z][a-z0-9_]*$"

KeyType = TypeVar("KeyType")
ValueType = TypeVar("ValueType")


class KeyedValueError(ValueError):
    """A model-level check that blames one key below the model, not the model."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


# ---------------------------------------------------------------- value checks


def _check_web_url(value: str) -> str:
    if len(value) > URL_LENGTH_MAX or any(char.isspace() for char in value):
        raise ValueError(f"must be a URL of at most {URL_LENGTH_MAX} characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError:
        raise ValueError("must be an http or https URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http or https URL with a host")
    if parts.username is not None or parts.fragment:
        raise ValueError("must not carry credentials or a #fragment")
    return value


def _check_issuer(value: str) -> str:
    if value.endswith("/"):
        raise ValueError("must not end with '/': it is the token issuer, compared byte for byte")
    if urlsplit(value).query:
        raise ValueError("must not carry a ?query: it is the token issuer")
    return value


def _check_database_url(value: str) -> str:
    try:
        driver = make_url(value).drivername
    except (ArgumentError, ValueError):
        raise ValueError("must be an SQLAlchemy URL") from None
    if driver not in ASYNC_DATABASE_DRIVERS:
        raise ValueError("must be an SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…")
    return value


def _zone_from_name(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Asia/Shanghai") from None


def _check_secret(value: SecretStr) -> SecretStr:
    if not 0 < len(value.get_secret_value()) <= SECRET_LENGTH_MAX:
        raise ValueError(f"must hold 1 to {SECRET_LENGTH_MAX} characters")
    return value


def _check_webhook_secret(value: SecretStr) -> SecretStr:
    prefix, _, encoded = value.get_secret_value().partition("_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        key = b""
    if prefix != "whsec" or not key:
        raise ValueError("must be 'whsec_' followed by base64")
    return value


def _refuse_float_hours(value: object) -> object:
    if isinstance(value, float):
        # ValueError, not TypeError: pydantic reports only ValueError as the setting's fault.
        raise ValueError('use a quoted decimal string, not a float (write "7.5")')  # noqa: TRY004
    if isinstance(value, bool) or (isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value)):
        raise ValueError('must be a whole number or a decimal string with at most two fractional digits, such as "7.5"')
    return value


def _beijing_midnight(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), BEIJING_TIME)
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING_TIME)
    return value.astimezone(UTC)


def _check_not_empty(value: tuple[object, ...]) -> tuple[object, ...]:
    # After the items, so that a bad item is not also reported as "empty".
    if not value:
        raise ValueError("must list at least one item")
    return value


def _plain_dict(value: Mapping[Any, Any], handler: SerializerFunctionWrapHandler) -> Any:
    return handler(dict(value))


# ---------------------------------------------------------------- value types

WebUrl = Annotated[str, AfterValidator(_check_web_url)]
IssuerUrl = Annotated[str, AfterValidator(_check_web_url), AfterValidator(_check_issuer)]
DatabaseUrl = Annotated[str, AfterValidator(_check_database_url)]
DisplayZone = Annotated[ZoneInfo, BeforeValidator(_zone_from_name)]
Secret = Annotated[SecretStr, AfterValidator(_check_secret)]
WebhookSecret = Annotated[SecretStr, AfterValidator(_check_webhook_secret)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_LENGTH_MAX)]
Hours = Annotated[
    Decimal,
    BeforeValidator(_refuse_float_hours),
    Field(gt=0, le=HOURS_MAX, decimal_places=2),
]
HoursPerDay = Annotated[
    Decimal,
    BeforeValidator(_refuse_float_hours),
    Field(gt=0, le=HOURS_PER_DAY_MAX, decimal_places=2),
]
Instant = Annotated[datetime, BeforeValidator(_beijing_midnight), AfterValidator(_aware_utc)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Topic = Annotated[str, StringConstraints(pattern=_TOPIC_PATTERN, max_length=64)]
# A mapping that cannot be changed after validation, dumped as a plain dict.
FrozenMapping = Annotated[
    Mapping[KeyType, ValueType],
    AfterValidator(MappingProxyType),
    WrapSerializer(_plain_dict),
]


class JwtAlgorithm(StrEnum):
    """The algorithms a vendor may ask its handoff tokens to be signed with."""

    EDDSA = "EdDSA"
    ES256 = "ES256"
    RS256 = "RS256"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


# ---------------------------------------------------------------- [hub]


class HubSettings(_Section):
    """`[hub]`: the hub itself."""

    base_url: IssuerUrl
    database_url: DatabaseUrl = Field(default="sqlite+aiosqlite:///./var/hub.db", repr=False)
    timezone: DisplayZone = BEIJING_TIME
    data_key_file: Path = Path("./var/data.key")
    key_activation_delay_seconds: int = Field(default=SECONDS_PER_DAY, ge=0, le=365 * SECONDS_PER_DAY)


# ---------------------------------------------------------------- [vendors.<code>]


class _VendorSettings(_Section):
    name: Text
    jwt_alg: JwtAlgorithm


class IschineseSettings(_VendorSettings):
    """`[vendors.ischinese]`: launches, signed webhooks and an API key."""

    launch_url: WebUrl
    webhook_secrets: Annotated[tuple[WebhookSecret, ...], Field(max_length=16), AfterValidator(_check_not_empty)]
    api_base: WebUrl
    api_key: Secret


class WebtrnSettings(_VendorSettings):
    """`[vendors.webtrn]`: launches and pulled pages, with OAuth client credentials."""

    launch_url: WebUrl
    token_url: WebUrl
    api_base: WebUrl
    client_id: Text
    client_secret: Secret
    pull_interval_seconds: int = Field(default=300, gt=0, le=SECONDS_PER_DAY)
    pull_start: Instant | None = None


class HnouSettings(_VendorSettings):
    """`[vendors.hnou]`: LTI 1.3 launches and daily files."""

    login_url: WebUrl
    target_link_uri: WebUrl
    client_id: Text
    deployment_id: Text
    redirect_uris: Annotated[tuple[WebUrl, ...], Field(max_length=16), AfterValidator(_check_not_empty)]
    appid: Text
    appsecret: Secret
    api_base: WebUrl


class VendorsSettings(_Section):
    """`[vendors]`: one optional section per vendor code; other codes are refused."""

    ischinese: IschineseSettings | None = None
    webtrn: WebtrnSettings | None = None
    hnou: HnouSettings | None = None


VENDOR_CODES = frozenset(VendorsSettings.model_fields)


# ---------------------------------------------------------------- [rules.<year>]


def _check_course_reference(value: str) -> str:
    vendor, separator, course_id = value.partition(":")
    if not separator or vendor not in VENDOR_CODES:
        codes = ", ".join(sorted(VENDOR_CODES))
        raise ValueError(f"must be vendor:course_id with vendor one of {codes}")
    if not course_id or course_id != course_id.strip():
        raise ValueError("needs a course_id without surrounding spaces")
    return value


CourseReference = Annotated[str, StringConstraints(max_length=TEXT_LENGTH_MAX), AfterValidator(_check_course_reference)]


class YearRulesSettings(_Section):
    """`[rules.<year>]`: the hours a person needs in a year, exact decimals."""

    total_hours: Hours
    public_hours: Hours
    professional_hours: Hours
    hours_per_day: HoursPerDay
    mandatory: FrozenMapping[
        Topic,
        Annotated[
            tuple[CourseReference, ...],
            Field(max_length=100),
            AfterValidator(_check_not_empty),
        ],
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parts_within_total(self) -> Self:
        for name in ("public_hours", "professional_hours"):
            if getattr(self, name) > self.total_hours:
                raise KeyedValueError(name, "must not exceed total_hours")
        return self


# ---------------------------------------------------------------- [organisation]


class OrganisationSettings(_Section):
    """`[organisation]`: the organisation data to load."""

    file: Path | None = None


# ---------------------------------------------------------------- [certificates]


class CertificatesSettings(_Section):
    """`[certificates]`: how certificates are rendered and verified."""

    font_file: Path = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    issuer_name: Text = "湖南省事业单位工作人员培训管理平台"
    verify_requests_per_minute: int = Field(default=30, ge=1, le=10_000)


# ---------------------------------------------------------------- [passwords]


class PasswordsSettings(_Section):
    """`[passwords]`: the cost of the argon2id hash of each staff password. The defaults are argon2-cffi's
    (RFC 9106's low-memory profile); a hash made with other parameters is remade at its owner's next login."""

    time_cost: int = Field(default=RFC_9106_LOW_MEMORY.time_cost, ge=1, le=20)
    memory_kib: int = Field(default=RFC_9106_LOW_MEMORY.memory_cost, ge=1024, le=4 * 1024 * 1024)
    parallelism: int = Field(default=RFC_9106_LOW_MEMORY.parallelism, ge=1, le=64)


# ---------------------------------------------------------------- the tree


class Settings(BaseSettings):
    """The whole configuration, frozen. Build it with `load_settings`."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        env_prefix=ENVIRONMENT_PREFIX,
        env_nested_delimiter=ENVIRONMENT_DELIMITER,
        case_sensitive=False,
    )

    hub: HubSettings
    vendors: VendorsSettings = Field(default_factory=VendorsSettings)
    rules: FrozenMapping[Year, YearRulesSettings] = Field(default_factory=dict)
    organisation: OrganisationSettings = Field(default_factory=OrganisationSettings)
    certificates: CertificatesSettings = Field(default_factory=CertificatesSettings)
    passwords: PasswordsSettings = Field(default_factory=PasswordsSettings)
    topics: FrozenMapping[Topic, Text] = Field(default_factory=dict)
    """`[topics]`: the name pages show for a mandatory topic's key (the key itself where none is given)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read nothing behind the caller's back: `load_settings` gathers the input."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _hub_section_present(cls, data: object) -> object:
        # So that a missing [hub] is reported as hub.base_url, the key to write.
        if isinstance(data, Mapping) and "hub" not in data:
            return {**data, "hub": {}}
        return data

    @model_validator(mode="after")
    def _webtrn_start_known(self) -> Self:
        webtrn = self.vendors.webtrn
        if webtrn is not None and webtrn.pull_start is None and not self.rules:
            raise KeyedValueError("vendors.webtrn.pull_start", "required when no [rules.<year>] is given")
        return self

    @property
    def earliest_rules_year(self) -> int | None:
        """The earliest year that has rules, or None when none has."""
        return min(self.rules, default=None)

    @property
    def webtrn_pull_start(self) -> datetime | None:
        """Where the first webtrn pull begins, aware UTC; None without webtrn.

        `pull_start` when given, else 00:00 Beijing time on 1 January of the
        earliest year that has rules.
        """
        webtrn = self.vendors.webtrn
        if webtrn is None:
            return None
        if webtrn.pull_start is not None:
            return webtrn.pull_start
        year = self.earliest_rules_year
        if year is None:  # a bug: _webtrn_start_known refuses these settings
            raise RuntimeError("webtrn has neither a pull_start nor a rules year")
        return datetime(year, 1, 1, tzinfo=BEIJING_TIME).astimezone(UTC)
