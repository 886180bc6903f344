"""Reading the settings: the TOML file, the `HUB__…` environment variables and `*_file` secrets,
merged and validated into one frozen `Settings`, or one `SettingsError` naming every bad key."""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    SecretStr,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    EnvSettingsSource,
)
from pydantic_settings import SettingsError as PydanticSettingsError

from config.errors import SettingProblem, SettingsError
from config.settings import (
    ENVIRONMENT_DELIMITER,
    ENVIRONMENT_PREFIX,
    VENDOR_CODES,
    KeyedValueError,
    Settings,
)

CONFIG_VARIABLE = "HUB_CONFIG"
DEFAULT_CONFIG_PATH = Path("hub.toml")
CONFIG_FILE_BYTES_MAX = 1_048_576
SECRET_FILE_BYTES_MAX = 65_536


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings.

    The file is `path`, else the one named by `HUB_CONFIG` in `environ`, else
    `./hub.toml`; only the last may be absent (all defaults). `environ` defaults
    to `os.environ`; its `HUB__<SECTION>__<KEY>` variables override the file.

    Returns the frozen settings. Raises `SettingsError` naming every missing or
    invalid key, and for a file that is missing, unreadable or not TOML.
    """
    environment = os.environ if environ is None else environ
    named_path = path if path is not None else _named_config_path(environment)
    file_data = _read_toml_if_present(DEFAULT_CONFIG_PATH) if named_path is None else _read_toml(named_path)
    problems: list[SettingProblem] = []
    override_data = _read_environment(environment, problems)
    data = _merge(
        _resolve_secret_files(file_data, Settings, "", problems),
        _resolve_secret_files(override_data, Settings, "", problems),
    )
    return _validate(data, problems)


def _named_config_path(environment: Mapping[str, str]) -> Path | None:
    named = environment.get(CONFIG_VARIABLE)
    if named is None:
        return None
    if not named.strip():
        raise SettingsError([SettingProblem(CONFIG_VARIABLE, "is empty")])
    return Path(named)


def _read_toml_if_present(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return _read_toml(path)


def _read_toml(path: Path) -> dict[str, Any]:
    key = f"file {path}"
    try:
        with path.open("rb") as stream:
            content = stream.read(CONFIG_FILE_BYTES_MAX + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsError([SettingProblem(key, f"cannot be read: {reason}")]) from error
    if len(content) > CONFIG_FILE_BYTES_MAX:
        message = f"is larger than {CONFIG_FILE_BYTES_MAX} bytes"
        raise SettingsError([SettingProblem(key, message)])
    try:
        return tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SettingsError([SettingProblem(key, "is not UTF-8")]) from error
    except tomllib.TOMLDecodeError as error:
        message = f"is not valid TOML: {error}"
        raise SettingsError([SettingProblem(key, message)]) from error


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate(data: Mapping[str, Any], problems: list[SettingProblem]) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        named = {problem.key for problem in problems}
        named |= {key.removesuffix("_file") for key in named}
        found = [_problem_from(detail) for detail in error.errors(include_url=False)]
        problems.extend(problem for problem in found if problem.key not in named)
        # from None: pydantic's own message would show the input, maybe a secret.
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    return settings


# ---------------------------------------------------------------- the environment


def _read_environment(environment: Mapping[str, str], problems: list[SettingProblem]) -> dict[str, Any]:
    accepted: dict[str, str] = {}
    for name, value in environment.items():
        if not name.upper().startswith(ENVIRONMENT_PREFIX):
            continue
        problem = _variable_name_problem(name)
        if problem is None:
            accepted[name] = value
        else:
            problems.append(problem)
    source = _EnvironmentSource(accepted, problems)
    try:
        return source()
    except PydanticSettingsError as error:
        problems.append(SettingProblem(ENVIRONMENT_PREFIX + "*", str(error)))
        return {}


def _variable_name_problem(name: str) -> SettingProblem | None:
    parts = name[len(ENVIRONMENT_PREFIX) :].split(ENVIRONMENT_DELIMITER)
    if len(parts) < 2 or not all(parts):
        return SettingProblem(name, "must be HUB__<SECTION>__<KEY>")
    if parts[0].lower() not in Settings.model_fields:
        sections = ", ".join(sorted(Settings.model_fields))
        return SettingProblem(name, f"names no section; the sections are {sections}")
    return None


class _EnvironmentSource(EnvSettingsSource):
    """pydantic-settings' environment source, bent to the spec.

    It reads the given mapping rather than `os.environ`, treats any `Mapping`
    field like a `dict` when descending `HUB__RULES__2021__…`, and reports a bad
    JSON value by the variable that holds it instead of failing the section.
    """

    def __init__(self, environment: Mapping[str, str], problems: list[SettingProblem]) -> None:
        super().__init__(Settings)
        self.env_vars = {name.lower(): value for name, value in environment.items()}
        self._problems = problems

    def next_field(
        self, field: FieldInfo | Any | None, key: str, case_sensitive: bool | None = None
    ) -> FieldInfo | None:
        annotation = field.annotation if isinstance(field, FieldInfo) else field
        if get_origin(annotation) is Mapping:
            value_type: FieldInfo | None = get_args(annotation)[-1]
            return value_type
        return super().next_field(field, key, case_sensitive)

    def explode_env_vars(self, field_name: str, field: FieldInfo, env_vars: Mapping[str, str | None]) -> dict[str, Any]:
        exploded: dict[str, Any] = {}
        for name, value in env_vars.items():
            try:
                one = super().explode_env_vars(field_name, field, {name: value})
            except ValueError:
                self._problems.append(_json_problem(name))
            else:
                exploded = _merge(exploded, one)
        return exploded


def _json_problem(variable: str) -> SettingProblem:
    parts = variable[len(ENVIRONMENT_PREFIX) :].split(ENVIRONMENT_DELIMITER)
    return SettingProblem(".".join(parts).lower(), f"{variable.upper()} must hold valid JSON")


# ---------------------------------------------------------------- secrets in files


def _resolve_secret_files(
    data: Mapping[str, Any],
    model: type[BaseModel],
    path: str,
    problems: list[SettingProblem],
) -> dict[str, Any]:
    """Replace every `<secret>_file` below `model` by the secret it holds."""
    resolved = dict(data)
    for name, field in model.model_fields.items():
        section = _model_in(field.annotation)
        value = resolved.get(name)
        if section is not None and isinstance(value, Mapping):
            key = _dotted(path, name)
            resolved[name] = _resolve_secret_files(value, section, key, problems)
        elif _is_secret(field.annotation) and f"{name}_file" in resolved:
            _read_secret_file(resolved, name, _dotted(path, name), problems)
        elif _is_secret_sequence(field.annotation) and f"{name}_file" in resolved:
            _read_secret_lines_file(resolved, name, _dotted(path, name), problems)
    return resolved


def _read_secret_file(section: dict[str, Any], name: str, key: str, problems: list[SettingProblem]) -> None:
    content = _take_secret_file(section, name, key, problems)
    if content is not None:
        section[name] = content.strip()


def _read_secret_lines_file(section: dict[str, Any], name: str, key: str, problems: list[SettingProblem]) -> None:
    content = _take_secret_file(section, name, key, problems)
    if content is not None:
        section[name] = [line.strip() for line in content.splitlines() if line.strip()]


def _take_secret_file(section: dict[str, Any], name: str, key: str, problems: list[SettingProblem]) -> str | None:
    """Pop `<name>_file` from `section`; return the text it names, or None."""
    file_value = section.pop(f"{name}_file")
    if name in section:
        del section[name]
        problems.append(SettingProblem(key, f"give {name} or {name}_file, not both"))
        return None
    file_key = f"{key}_file"
    if not isinstance(file_value, str) or not file_value:
        problems.append(SettingProblem(file_key, "must be the path of a file"))
        return None
    try:
        content = _read_small_text(Path(file_value))
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        problems.append(SettingProblem(file_key, f"cannot be read: {reason}"))
        return None
    if not content.strip():
        problems.append(SettingProblem(file_key, "names an empty file"))
        return None
    return content


def _read_small_text(path: Path) -> str:
    with path.open("rb") as stream:
        content = stream.read(SECRET_FILE_BYTES_MAX + 1)
    if len(content) > SECRET_FILE_BYTES_MAX:
        raise OSError(0, f"larger than {SECRET_FILE_BYTES_MAX} bytes")
    return content.decode("utf-8")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    candidates = get_args(annotation) if _is_union(annotation) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_secret(annotation: Any) -> bool:
    return _without_metadata(annotation) is SecretStr


def _is_secret_sequence(annotation: Any) -> bool:
    arguments = get_args(annotation)
    return get_origin(annotation) is tuple and _is_secret(arguments[0])


def _without_metadata(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _is_union(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return origin is Union or origin is UnionType


def _dotted(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---------------------------------------------------------------- messages


def _problem_from(detail: ErrorDetails) -> SettingProblem:
    location = [str(part) for part in detail["loc"] if part != "[key]"]
    key = ".".join(location)
    message = _message(detail)
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, KeyedValueError):
        key = _dotted(key, cause.key)
    if "[key]" in detail["loc"]:
        message = f"invalid key: {message}"
    if detail["type"] == "extra_forbidden" and len(location) == 2 and location[0] == "vendors":
        message = f"unknown vendor code: the codes are {', '.join(sorted(VENDOR_CODES))}"
    return SettingProblem(key or "settings", message)


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(detail.get("ctx", {}).get("error", detail["msg"]))
    if kind in {"tuple_type", "list_type"}:
        return "must be a list (a JSON list in an environment variable)"
    message = detail["msg"][:1].lower() + detail["msg"][1:]
    given = detail["input"]
    if isinstance(given, str) and len(given) >= 4 and given in message:
        message = message.replace(given, "[value]")  # never echo the input
    return message
