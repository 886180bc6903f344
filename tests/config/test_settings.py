"""Reading the settings: defaults, the file, the environment, secrets in files."""

import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from config import (
    ConfigError,
    HubSettings,
    JwtAlgorithm,
    Settings,
    SettingsError,
    load_settings,
)
from config.loading import _problem_from

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "hub.example.toml"
BASE_URL = "https://hub.example.cn"
WEBHOOK_SECRET = "whsec_cGxhY2Vob2xkZXItd2ViaG9vay1rZXktb25lIQ=="
HUB = f'[hub]\nbase_url = "{BASE_URL}"\n'
ISCHINESE = """
[vendors.ischinese]
name = "ischinese"
jwt_alg = "EdDSA"
launch_url = "http://127.0.0.1:9001/launch"
webhook_secrets = ["whsec_cGxhY2Vob2xkZXItd2ViaG9vay1rZXktb25lIQ=="]
api_base = "http://127.0.0.1:9001/api"
api_key = "file-api-key"
"""
WEBTRN = """
[vendors.webtrn]
name = "webtrn"
jwt_alg = "ES256"
launch_url = "http://127.0.0.1:9002/launch"
token_url = "http://127.0.0.1:9002/token"
api_base = "http://127.0.0.1:9002/api"
client_id = "hub"
client_secret = "file-client-secret"
"""
HNOU = """
[vendors.hnou]
name = "hnou"
jwt_alg = "RS256"
login_url = "http://127.0.0.1:9003/login"
target_link_uri = "http://127.0.0.1:9003/launch"
client_id = "hub-client"
deployment_id = "deployment-1"
redirect_uris = ["http://127.0.0.1:9003/launch"]
appid = "hub"
appsecret = "file-appsecret"
api_base = "http://127.0.0.1:9003/api"
"""
RULES = """
[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"

[rules.2021.mandatory]
xi_thought = ["ischinese:XJP-2021-01", "webtrn:C1001"]
"""


def write(directory: Path, text: str, name: str = "hub.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load(directory: Path, text: str, environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(write(directory, text), environ={} if environ is None else environ)


def refusal(directory: Path, text: str, environ: Mapping[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as caught:
        load(directory, text, environ)
    return str(caught.value)


# ---------------------------------------------------------------- defaults


def test_a_file_with_only_the_base_url_takes_every_default(tmp_path: Path) -> None:
    settings = load(tmp_path, HUB)

    assert settings.hub.base_url == BASE_URL
    assert settings.hub.database_url == "sqlite+aiosqlite:///./var/hub.db"
    assert settings.hub.timezone == ZoneInfo("Asia/Shanghai")
    assert settings.hub.data_key_file == Path("./var/data.key")
    assert settings.hub.key_activation_delay_seconds == 86400
    assert settings.vendors.ischinese is None
    assert settings.vendors.webtrn is None
    assert settings.vendors.hnou is None
    assert dict(settings.rules) == {}
    assert settings.organisation.file is None
    assert (settings.passwords.time_cost, settings.passwords.memory_kib, settings.passwords.parallelism) == (
        3,
        65536,
        4,
    )  # argon2-cffi's own defaults, RFC 9106's low-memory profile
    assert settings.earliest_rules_year is None


def test_a_missing_default_file_means_defaults_but_base_url_is_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SettingsError) as caught:
        load_settings(environ={})

    assert str(caught.value) == "invalid setting hub.base_url: field required"


def test_a_missing_default_file_with_the_base_url_in_the_environment_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings(environ={"HUB__HUB__BASE_URL": BASE_URL})

    assert settings.hub.base_url == BASE_URL


def test_the_default_file_is_hub_toml_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, HUB.replace(BASE_URL, "https://default.example"))
    monkeypatch.chdir(tmp_path)

    assert load_settings(environ={}).hub.base_url == "https://default.example"


def test_environ_defaults_to_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB__HUB__KEY_ACTIVATION_DELAY_SECONDS", "60")

    settings = load_settings(write(tmp_path, HUB))

    assert settings.hub.key_activation_delay_seconds == 60


# ---------------------------------------------------------------- which file


def test_hub_config_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, HUB, "elsewhere.toml")

    settings = load_settings(environ={"HUB_CONFIG": str(path)})

    assert settings.hub.base_url == BASE_URL


def test_a_missing_file_named_by_hub_config_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"

    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"HUB_CONFIG": str(missing), "HUB__HUB__BASE_URL": BASE_URL})

    assert str(caught.value).startswith(f"invalid setting file {missing}: cannot be read")


def test_an_empty_hub_config_is_an_error() -> None:
    with pytest.raises(SettingsError, match="HUB_CONFIG: is empty"):
        load_settings(environ={"HUB_CONFIG": " "})


def test_a_missing_file_named_by_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(tmp_path / "missing.toml", environ={"HUB__HUB__BASE_URL": BASE_URL})


def test_the_path_argument_overrides_hub_config(tmp_path: Path) -> None:
    path = write(tmp_path, HUB)

    settings = load_settings(path, environ={"HUB_CONFIG": str(tmp_path / "missing")})

    assert settings.hub.base_url == BASE_URL


def test_a_toml_syntax_error_is_one_line_naming_the_file(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[hub]\nbase_url = "https://x.example\n')

    assert message.startswith(f"invalid setting file {tmp_path / 'hub.toml'}: ")
    assert "not valid TOML" in message
    assert "\n" not in message


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(tmp_path, environ={})


# ---------------------------------------------------------------- the environment


def test_environment_variables_override_nested_keys(tmp_path: Path) -> None:
    environ = {
        "HUB__HUB__DATABASE_URL": "postgresql+asyncpg://hub@db.internal/hub",
        "HUB__VENDORS__WEBTRN__CLIENT_SECRET": "environment-client-secret",
        "HUB__VENDORS__WEBTRN__PULL_INTERVAL_SECONDS": "60",
    }

    settings = load(tmp_path, HUB + WEBTRN + RULES, environ)

    webtrn = settings.vendors.webtrn
    assert settings.hub.database_url == "postgresql+asyncpg://hub@db.internal/hub"
    assert webtrn is not None
    assert webtrn.client_secret.get_secret_value() == "environment-client-secret"
    assert webtrn.pull_interval_seconds == 60
    assert webtrn.client_id == "hub"


def test_environment_variable_names_are_case_insensitive(tmp_path: Path) -> None:
    settings = load(tmp_path, HUB, {"hub__Hub__Timezone": "UTC"})

    assert settings.hub.timezone == ZoneInfo("UTC")


def test_environment_variables_override_rules_of_a_year(tmp_path: Path) -> None:
    environ = {
        "HUB__RULES__2021__TOTAL_HOURS": "100",
        "HUB__RULES__2021__HOURS_PER_DAY": "8.25",
        "HUB__RULES__2021__MANDATORY__PARTY_HISTORY": '["hnou:HN-2021-DS01"]',
    }

    rules = load(tmp_path, HUB + RULES, environ).rules[2021]

    assert rules.total_hours == Decimal(100)
    assert rules.hours_per_day == Decimal("8.25")
    assert rules.public_hours == Decimal(30)
    assert dict(rules.mandatory) == {
        "xi_thought": ("ischinese:XJP-2021-01", "webtrn:C1001"),
        "party_history": ("hnou:HN-2021-DS01",),
    }


def test_a_year_given_only_in_the_environment_needs_every_key(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB, {"HUB__RULES__2022__TOTAL_HOURS": "90"})

    assert "rules.2022.public_hours: field required" in message
    assert "rules.2022.hours_per_day: field required" in message


def test_list_values_are_json_lists_in_the_environment(tmp_path: Path) -> None:
    environ = {"HUB__VENDORS__ISCHINESE__WEBHOOK_SECRETS": f'["{WEBHOOK_SECRET}"]'}

    ischinese = load(tmp_path, HUB + ISCHINESE, environ).vendors.ischinese

    assert ischinese is not None
    assert [secret.get_secret_value() for secret in ischinese.webhook_secrets] == [WEBHOOK_SECRET]


def test_a_list_that_is_not_json_names_the_variable(tmp_path: Path) -> None:
    environ = {"HUB__VENDORS__ISCHINESE__WEBHOOK_SECRETS": "whsec_not-a-json-list"}

    message = refusal(tmp_path, HUB + ISCHINESE, environ)

    assert message == (
        "invalid setting vendors.ischinese.webhook_secrets: "
        "HUB__VENDORS__ISCHINESE__WEBHOOK_SECRETS must hold valid JSON"
    )


def test_a_bad_json_value_is_blamed_on_its_own_variable_only(tmp_path: Path) -> None:
    environ = {
        "HUB__HUB__TIMEZONE": "UTC",
        "HUB__VENDORS__ISCHINESE__API_BASE": "http://127.0.0.1:9009/api",
        "HUB__VENDORS__ISCHINESE__WEBHOOK_SECRETS": "[not json",
    }

    with pytest.raises(SettingsError) as caught:
        load(tmp_path, HUB + ISCHINESE, environ)

    assert [str(problem) for problem in caught.value.problems] == [
        "vendors.ischinese.webhook_secrets: HUB__VENDORS__ISCHINESE__WEBHOOK_SECRETS must hold valid JSON"
    ]


def test_an_environment_variable_of_no_section_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB, {"HUB__HUBB__BASE_URL": BASE_URL})

    assert message.startswith("invalid setting HUB__HUBB__BASE_URL: names no section")


def test_an_environment_variable_without_a_key_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB, {"HUB__HUB": "{}"})

    assert message == "invalid setting HUB__HUB: must be HUB__<SECTION>__<KEY>"


def test_an_unknown_key_in_the_environment_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB, {"HUB__HUB__DATABSE_URL": "sqlite+aiosqlite://"})

    assert message == "invalid setting hub.databse_url: unknown key"


# ---------------------------------------------------------------- secrets in files


def test_secrets_can_be_given_as_files(tmp_path: Path) -> None:
    api_key = write(tmp_path, "  api-key-from-file \n", "api_key")
    secrets = write(tmp_path, f"\n{WEBHOOK_SECRET}\n\n  {WEBHOOK_SECRET}  \n", "hooks")
    client_secret = write(tmp_path, "client-secret-from-file\n", "client_secret")
    appsecret = write(tmp_path, "appsecret-from-file", "appsecret")
    text = (
        HUB
        + RULES
        + ISCHINESE.replace('api_key = "file-api-key"', f'api_key_file = "{api_key}"').replace(
            "webhook_secrets = [", f'webhook_secrets_file = "{secrets}"\n# ['
        )
        + WEBTRN.replace('client_secret = "file-client-secret"', f'client_secret_file = "{client_secret}"')
        + HNOU.replace('appsecret = "file-appsecret"', f'appsecret_file = "{appsecret}"')
    )

    vendors = load(tmp_path, text).vendors

    assert vendors.ischinese is not None
    assert vendors.webtrn is not None
    assert vendors.hnou is not None
    assert vendors.ischinese.api_key.get_secret_value() == "api-key-from-file"
    assert [s.get_secret_value() for s in vendors.ischinese.webhook_secrets] == [
        WEBHOOK_SECRET,
        WEBHOOK_SECRET,
    ]
    assert vendors.webtrn.client_secret.get_secret_value() == "client-secret-from-file"
    assert vendors.hnou.appsecret.get_secret_value() == "appsecret-from-file"


def test_a_secret_file_can_be_named_in_the_environment(tmp_path: Path) -> None:
    secret = write(tmp_path, "client-secret-from-file\n", "client_secret")
    environ = {"HUB__VENDORS__WEBTRN__CLIENT_SECRET_FILE": str(secret)}
    text = HUB + RULES + WEBTRN.replace('client_secret = "file-client-secret"\n', "")

    webtrn = load(tmp_path, text, environ).vendors.webtrn

    assert webtrn is not None
    assert webtrn.client_secret.get_secret_value() == "client-secret-from-file"


def test_an_inline_secret_in_the_environment_overrides_a_file_in_the_toml(
    tmp_path: Path,
) -> None:
    secret = write(tmp_path, "client-secret-from-file\n", "client_secret")
    text = HUB + RULES + WEBTRN.replace('client_secret = "file-client-secret"', f'client_secret_file = "{secret}"')
    environ = {"HUB__VENDORS__WEBTRN__CLIENT_SECRET": "environment-client-secret"}

    webtrn = load(tmp_path, text, environ).vendors.webtrn

    assert webtrn is not None
    assert webtrn.client_secret.get_secret_value() == "environment-client-secret"


def test_a_secret_given_both_inline_and_as_a_file_is_refused(tmp_path: Path) -> None:
    secret = write(tmp_path, "client-secret-from-file\n", "client_secret")
    text = HUB + RULES + WEBTRN + f'client_secret_file = "{secret}"\n'

    message = refusal(tmp_path, text)

    assert message == (
        "invalid setting vendors.webtrn.client_secret: give client_secret or client_secret_file, not both"
    )
    assert "file-client-secret" not in message


def test_a_missing_secret_file_names_the_file_key_once(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    text = HUB + RULES + WEBTRN.replace('client_secret = "file-client-secret"', f'client_secret_file = "{missing}"')

    message = refusal(tmp_path, text)

    assert message == ("invalid setting vendors.webtrn.client_secret_file: cannot be read: No such file or directory")


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    empty = write(tmp_path, "\n  \n", "empty")
    text = HUB + ISCHINESE.replace("webhook_secrets = [", f'webhook_secrets_file = "{empty}"\n# [')

    message = refusal(tmp_path, text)

    assert message == ("invalid setting vendors.ischinese.webhook_secrets_file: names an empty file")


def test_a_file_key_for_a_setting_that_is_not_a_secret_is_unknown(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + 'base_url_file = "/etc/hostname"\n')

    assert message == "invalid setting hub.base_url_file: unknown key"


# ---------------------------------------------------------------- [hub]


def test_the_base_url_is_kept_byte_for_byte(tmp_path: Path) -> None:
    text = '[hub]\nbase_url = "https://Hub.Example.cn:8443/training"\n'

    assert load(tmp_path, text).hub.base_url == "https://Hub.Example.cn:8443/training"


def test_a_trailing_slash_on_the_base_url_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[hub]\nbase_url = "https://hub.example.cn/"\n')

    assert message == (
        "invalid setting hub.base_url: must not end with '/': it is the token issuer, compared byte for byte"
    )


@pytest.mark.parametrize(
    "base_url",
    ["ftp://hub.example.cn", "hub.example.cn", "https://", "https://hub.example.cn#x"],
)
def test_a_base_url_that_is_not_an_http_url_is_refused(tmp_path: Path, base_url: str) -> None:
    message = refusal(tmp_path, f'[hub]\nbase_url = "{base_url}"\n')

    assert message.startswith("invalid setting hub.base_url: must")


@pytest.mark.parametrize(
    "database_url",
    ["sqlite+aiosqlite:///./var/test.db", "postgresql+asyncpg://hub:pw@db:5432/hub"],
)
def test_async_database_urls_are_accepted(tmp_path: Path, database_url: str) -> None:
    settings = load(tmp_path, HUB + f'database_url = "{database_url}"\n')

    assert settings.hub.database_url == database_url


@pytest.mark.parametrize(
    "database_url",
    ["postgresql://hub:hunter2secret@db/hub", "sqlite:///hub.db", "not a url"],
)
def test_other_database_urls_are_refused_without_showing_them(tmp_path: Path, database_url: str) -> None:
    message = refusal(tmp_path, HUB + f'database_url = "{database_url}"\n')

    assert message.startswith("invalid setting hub.database_url: must be an SQLAlchemy")
    assert database_url not in message


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + 'timezone = "Mars/Olympus_Mons"\n')

    assert message == ("invalid setting hub.timezone: must be an IANA time zone such as Asia/Shanghai")


def test_a_negative_key_activation_delay_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + "key_activation_delay_seconds = -1\n")

    assert message.startswith("invalid setting hub.key_activation_delay_seconds: ")


def test_password_hashing_cheaper_than_argon2_allows_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + "[passwords]\ntime_cost = 0\nmemory_kib = 512\n")

    assert message == (
        "invalid setting passwords.time_cost: input should be greater than or equal to 1; "
        "passwords.memory_kib: input should be greater than or equal to 1024"
    )


def test_topics_are_named_by_key(tmp_path: Path) -> None:
    settings = load(tmp_path, HUB + RULES + '[topics]\nxi_thought = "习近平新时代中国特色社会主义思想"\n')

    assert dict(settings.topics) == {"xi_thought": "习近平新时代中国特色社会主义思想"}
    assert dict(load(tmp_path, HUB).topics) == {}


def test_a_topic_name_must_be_a_topic_key_with_a_name(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + '[topics]\n"xi thought" = "思想"\nparty_history = ""\n')

    assert message == (
        "invalid setting topics.xi thought: invalid key: string should match pattern '^[a-z][a-z0-9_]*$'; "
        "topics.party_history: string should have at least 1 character"
    )


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + 'colour = "blue"\n')

    assert message == "invalid setting hub.colour: unknown key"


# ---------------------------------------------------------------- [vendors]


def test_all_three_vendors_load(tmp_path: Path) -> None:
    vendors = load(tmp_path, HUB + RULES + ISCHINESE + WEBTRN + HNOU).vendors

    assert vendors.ischinese is not None
    assert vendors.webtrn is not None
    assert vendors.hnou is not None
    assert vendors.ischinese.jwt_alg is JwtAlgorithm.EDDSA
    assert vendors.webtrn.jwt_alg is JwtAlgorithm.ES256
    assert vendors.hnou.redirect_uris == ("http://127.0.0.1:9003/launch",)


def test_an_unknown_vendor_code_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + '[vendors.coursera]\nname = "coursera"\n')

    assert message == "invalid setting vendors.coursera: unknown vendor code: the codes are hnou, ischinese, webtrn"


def test_an_unknown_jwt_algorithm_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + ISCHINESE.replace('"EdDSA"', '"HS256"'))

    assert message.startswith("invalid setting vendors.ischinese.jwt_alg: ")
    assert "EdDSA" in message


def test_a_missing_vendor_key_is_named(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + HNOU.replace('appid = "hub"\n', ""))

    assert message == "invalid setting vendors.hnou.appid: field required"


@pytest.mark.parametrize(
    "secret",
    [
        "cGxhY2Vob2xkZXI=",
        "whsec_",
        "whsec_not*base64*SECRETVALUE",
        "whsk_cGxhY2Vob2xkZXI=",
    ],
)
def test_a_webhook_secret_must_be_whsec_and_base64(tmp_path: Path, secret: str) -> None:
    message = refusal(tmp_path, HUB + ISCHINESE.replace(WEBHOOK_SECRET, secret))

    assert message == ("invalid setting vendors.ischinese.webhook_secrets.0: must be 'whsec_' followed by base64")


def test_an_empty_list_of_webhook_secrets_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + ISCHINESE.replace(f'"{WEBHOOK_SECRET}"', ""))

    assert message.startswith("invalid setting vendors.ischinese.webhook_secrets: ")


def test_an_empty_secret_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + ISCHINESE.replace('"file-api-key"', '""'))

    assert message.startswith("invalid setting vendors.ischinese.api_key: must hold")


def test_a_redirect_uri_that_is_not_a_url_is_refused(tmp_path: Path) -> None:
    text = HUB + HNOU.replace(
        'redirect_uris = ["http://127.0.0.1:9003/launch"]',
        'redirect_uris = ["http://127.0.0.1:9003/launch", "/relative"]',
    )

    message = refusal(tmp_path, text)

    assert message.startswith("invalid setting vendors.hnou.redirect_uris.1: must be")


def test_the_pull_interval_defaults_to_300_and_must_be_positive(tmp_path: Path) -> None:
    webtrn = load(tmp_path, HUB + RULES + WEBTRN).vendors.webtrn
    message = refusal(tmp_path, HUB + RULES + WEBTRN + "pull_interval_seconds = 0\n")

    assert webtrn is not None
    assert webtrn.pull_interval_seconds == 300
    assert message.startswith("invalid setting vendors.webtrn.pull_interval_seconds: ")


def test_a_naive_pull_start_is_beijing_time(tmp_path: Path) -> None:
    settings = load(tmp_path, HUB + RULES + WEBTRN + "pull_start = 2021-06-01T08:00:00\n")

    assert settings.webtrn_pull_start == datetime(2021, 6, 1, 0, 0, tzinfo=UTC)


def test_an_aware_pull_start_is_kept(tmp_path: Path) -> None:
    text = HUB + RULES + WEBTRN + "pull_start = 2021-06-01T08:00:00Z\n"

    assert load(tmp_path, text).webtrn_pull_start == datetime(2021, 6, 1, 8, tzinfo=UTC)


def test_a_pull_start_date_is_midnight_beijing_time(tmp_path: Path) -> None:
    settings = load(tmp_path, HUB + RULES + WEBTRN + "pull_start = 2021-06-01\n")

    assert settings.webtrn_pull_start == datetime(2021, 5, 31, 16, tzinfo=UTC)


def test_the_pull_start_defaults_to_the_earliest_rules_year(tmp_path: Path) -> None:
    later = RULES.replace("rules.2021", "rules.2023")

    settings = load(tmp_path, HUB + later + RULES + WEBTRN)

    assert settings.earliest_rules_year == 2021
    assert settings.webtrn_pull_start == datetime(2020, 12, 31, 16, tzinfo=UTC)


def test_webtrn_without_rules_needs_a_pull_start(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + WEBTRN)

    assert message == ("invalid setting vendors.webtrn.pull_start: required when no [rules.<year>] is given")


# ---------------------------------------------------------------- [rules]


def test_rules_are_exact_decimals(tmp_path: Path) -> None:
    rules = load(tmp_path, HUB + RULES).rules[2021]

    assert rules.total_hours == Decimal(90)
    assert rules.public_hours == Decimal(30)
    assert rules.professional_hours == Decimal(60)
    assert rules.hours_per_day == Decimal("7.5")
    assert isinstance(rules.hours_per_day, Decimal)
    assert rules.mandatory["xi_thought"] == ("ischinese:XJP-2021-01", "webtrn:C1001")


def test_float_hours_are_refused_with_a_hint_to_quote_them(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + RULES.replace('"7.5"', "7.5"))

    assert message == (
        'invalid setting rules.2021.hours_per_day: use a quoted decimal string, not a float (write "7.5")'
    )


@pytest.mark.parametrize("hours", ['"7.125"', '"0"', "0", '"seven"', '"1e1"', "true"])
def test_hours_must_be_positive_with_at_most_two_fractional_digits(tmp_path: Path, hours: str) -> None:
    message = refusal(tmp_path, HUB + RULES.replace('"7.5"', hours))

    assert message.startswith("invalid setting rules.2021.hours_per_day: ")


def test_parts_must_not_exceed_the_total(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + RULES.replace("public_hours = 30", "public_hours = 91"))

    assert message == ("invalid setting rules.2021.public_hours: must not exceed total_hours")


def test_a_year_that_is_not_a_year_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HUB + RULES.replace("rules.2021", "rules.twenty"))

    assert message.startswith("invalid setting rules.twenty: invalid key: ")


@pytest.mark.parametrize(
    ("course", "key"),
    [
        ('"coursera:C1"', "rules.2021.mandatory.xi_thought.1"),
        ('"webtrn:"', "rules.2021.mandatory.xi_thought.1"),
        ('"C1001"', "rules.2021.mandatory.xi_thought.1"),
    ],
)
def test_a_mandatory_course_must_name_a_known_vendor_and_a_course(tmp_path: Path, course: str, key: str) -> None:
    message = refusal(tmp_path, HUB + RULES.replace('"webtrn:C1001"', course))

    assert message.startswith(f"invalid setting {key}: ")


def test_a_mandatory_topic_needs_at_least_one_course(tmp_path: Path) -> None:
    text = HUB + RULES.replace('["ischinese:XJP-2021-01", "webtrn:C1001"]', "[]")

    message = refusal(tmp_path, text)

    assert message.startswith("invalid setting rules.2021.mandatory.xi_thought: ")


# ---------------------------------------------------------------- errors


def test_every_offending_key_is_named_on_one_line(tmp_path: Path) -> None:
    text = '[hub]\ntimezone = "Nowhere"\n' + RULES.replace('"7.5"', "7.5")

    with pytest.raises(SettingsError) as caught:
        load(tmp_path, text)

    assert str(caught.value) == (
        "invalid setting hub.base_url: field required; "
        "hub.timezone: must be an IANA time zone such as Asia/Shanghai; "
        'rules.2021.hours_per_day: use a quoted decimal string, not a float (write "7.5")'
    )
    assert [problem.key for problem in caught.value.problems] == [
        "hub.base_url",
        "hub.timezone",
        "rules.2021.hours_per_day",
    ]
    assert isinstance(caught.value, ConfigError)
    assert caught.value.code == "invalid_settings"


def test_an_error_never_shows_a_secret_even_in_its_traceback(tmp_path: Path) -> None:
    secret = "whsec_THIS*IS*THE*SECRET*VALUE"
    text = HUB + ISCHINESE.replace(WEBHOOK_SECRET, secret)

    with pytest.raises(SettingsError) as caught:
        load(tmp_path, text, {"HUB__VENDORS__ISCHINESE__API_KEY": 12 * "x"})

    printed = "".join(traceback.format_exception(caught.value))
    assert "vendors.ischinese.webhook_secrets.0" in printed
    assert secret not in printed
    assert "THIS*IS" not in printed


def test_a_value_echoed_by_a_library_message_is_hidden() -> None:
    # pydantic's own ZoneInfo check is one that repeats its input.
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(ZoneInfo).validate_python("Secret/Looking_Zone")

    problem = _problem_from(caught.value.errors()[0])

    assert "Secret/Looking_Zone" in caught.value.errors()[0]["msg"]
    assert problem.message == "invalid timezone: [value]"


# ---------------------------------------------------------------- the tree


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path, HUB + RULES + ISCHINESE)

    with pytest.raises(ValidationError, match="frozen"):
        settings.hub.base_url = "https://other.example"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        settings.rules = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.rules[2022] = settings.rules[2021]  # type: ignore[index]
    with pytest.raises(TypeError):
        settings.rules[2021].mandatory["new"] = ()  # type: ignore[index]


def test_secrets_never_show_in_repr_or_str(tmp_path: Path) -> None:
    database_url = "postgresql+asyncpg://hub:database-password@db/hub"
    text = HUB + f'database_url = "{database_url}"\n' + RULES + ISCHINESE + WEBTRN + HNOU

    settings = load(tmp_path, text)

    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("file-api-key", "file-client-secret", "file-appsecret", WEBHOOK_SECRET):
        assert secret not in shown
    assert "database-password" not in repr(settings) + str(settings)


def test_building_settings_directly_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB__HUB__TIMEZONE", "UTC")
    monkeypatch.setenv("HUB__RULES__2021__TOTAL_HOURS", "90")

    settings = Settings(hub=HubSettings(base_url=BASE_URL))

    assert settings.hub.timezone == ZoneInfo("Asia/Shanghai")
    assert dict(settings.rules) == {}


def test_the_example_file_loads_with_every_section(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE_FILE, environ={})

    rules = settings.rules[2021]
    assert settings.vendors.ischinese is not None
    assert settings.vendors.webtrn is not None
    assert settings.vendors.hnou is not None
    assert (rules.total_hours, rules.public_hours, rules.professional_hours) == (Decimal(90), Decimal(30), Decimal(60))
    assert rules.hours_per_day == Decimal("7.5")
    assert set(rules.mandatory) == {"xi_thought", "party_history", "personnel_policy"}
    assert settings.organisation.file is not None
