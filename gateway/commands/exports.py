"""``hub export``: an auditor export written to a file with its signed manifest beside it; and the
offline check of such a pair that ``hub ledger verify --export … --manifest … --jwks …`` runs.

The offline check needs nothing of the hub but its published JWKS (a file, or the URL of
``/.well-known/jwks.json``): the signature, the file's digest and row count, every row's hash,
and the links between consecutive rows.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from config import Settings, load_settings
from gateway.commands import CommandFailed, open_hub
from ledger.exports.model import ExportFormat, ExportProblem, check_export
from ledger.model import canonical_json
from sso.access.model import COMMAND_LINE, AuditAction, AuditOutcome, NewAuditEntry, Target, TargetKind
from sso.errors import UnknownOrganisationCode
from sso.json_files import JsonFileRefused, read_json_file

if TYPE_CHECKING:
    from ledger.exports.service import ExportRequest

JWKS_BYTES_MAX: Final = 1024 * 1024
MANIFEST_BYTES_MAX: Final = 64 * 1024
JWKS_FETCH_TIMEOUT_SECONDS: Final = 10.0
READ_BYTES: Final = 1024 * 1024

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]


def export(
    year: Annotated[int, typer.Option(min=2000, max=2100, help="The training year to export.")],
    export_format: Annotated[ExportFormat, typer.Option("--format", help="csv (UTF-8 with BOM) or jsonl.")],
    out: Annotated[Path, typer.Option(help="The file to write; FILE.manifest.json is written beside it.")],
    unit: Annotated[
        str | None, typer.Option(help="An institution, or a region for its whole subtree.", show_default=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Export the ledger's entries of a year to FILE, with its signed manifest in FILE.manifest.json."""
    from ledger.exports.service import ExportRequest  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    settings = load_settings(config)
    manifest = asyncio.run(_export(settings, ExportRequest(year, export_format, COMMAND_LINE.kind.value, unit), out))
    typer.echo(f"wrote {manifest['row_count']} rows to {out} (through sequence number {manifest['through_seq']})")
    typer.echo(f"wrote the signed manifest to {manifest_path(out)}")


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


async def _export(settings: Settings, request: ExportRequest, out: Path) -> dict[str, object]:
    async with open_hub(settings) as hub:
        if request.unit_code is not None:
            organisation = await hub.organisation.organisation()
            try:
                institutions = organisation.institutions_under(request.unit_code)
            except UnknownOrganisationCode:
                raise CommandFailed(f"--unit {request.unit_code} is neither a region nor an institution") from None
            request = replace(request, institutions=frozenset(institution.code for institution in institutions))
        run = await hub.exports.begin(request)
        partial = out.with_name(f".{out.name}.partial")
        try:
            with partial.open("wb") as file, _progress(run.through_seq) as progress:
                task = progress.add_task("exporting", total=run.through_seq)
                async for chunk in run.chunks():
                    file.write(chunk)
                    progress.update(task, completed=run.read_seq)
                file.flush()
                os.fsync(file.fileno())
            partial.replace(out)
            manifest = run.signed_manifest
            if manifest is None:
                raise CommandFailed("the export ended before its manifest was signed")
            manifest_path(out).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandFailed(f"cannot write {out}: {exc.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
        await hub.access.audit.record(
            NewAuditEntry(
                actor=COMMAND_LINE,
                action=AuditAction.LEDGER_EXPORTED,
                outcome=AuditOutcome.SUCCEEDED,
                target=Target(TargetKind.EXPORT, run.export_id),
                details={"year": request.year, "format": request.export_format.value, "rows": run.rows},
            )
        )
    return manifest


def _progress(total: int) -> Progress:
    """A progress bar on a terminal, nothing elsewhere."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        disable=not Console(stderr=True).is_terminal or total == 0,
    )


def check_offline(export_file: Path, manifest_file: Path, jwks_source: str) -> str:
    """Check an export and its manifest with nothing but the JWKS; the line to print when they hold.

    Raises ``CommandFailed`` naming the first bad row, or what else does not hold.
    """
    from sso.handoff.tokens import verify_document  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    manifest = _read_manifest(manifest_file)
    signature = manifest.pop("signature", None)
    if not isinstance(signature, str):
        raise CommandFailed(f"{manifest_file} has no signature")
    kid = verify_document(signature, canonical_json(manifest), _read_jwks(jwks_source))
    try:
        with export_file.open("rb") as file:
            rows = check_export(file, manifest)
    except OSError as exc:
        raise CommandFailed(f"cannot read {export_file}: {exc.strerror}") from None
    except ExportProblem as problem:
        raise CommandFailed(f"export {export_file} broken at {problem}") from None
    return (
        f"export intact: {rows} rows of {manifest.get('year')} through sequence number {manifest.get('through_seq')}, "
        f"manifest signed by {kid}"
    )


def _read_manifest(path: Path) -> dict[str, object]:
    try:
        manifest = read_json_file(path, MANIFEST_BYTES_MAX)
    except JsonFileRefused as refused:
        raise CommandFailed(f"the manifest {path} is refused: {refused}") from None
    if not isinstance(manifest, dict):
        raise CommandFailed(f"the manifest {path} is not a JSON object")
    return manifest


def _read_jwks(source: str) -> dict[str, object]:
    """The JWKS at a URL (http or https) or in a file."""
    try:
        jwks = (
            _fetch_json(source)
            if source.startswith(("https://", "http://"))
            else read_json_file(Path(source), JWKS_BYTES_MAX)
        )
    except JsonFileRefused as refused:
        raise CommandFailed(f"the JWKS {source} is refused: {refused}") from None
    if not isinstance(jwks, dict):
        raise CommandFailed(f"the JWKS {source} is not a JSON object")
    return jwks


def _fetch_json(url: str) -> object:
    data = b""
    try:
        with httpx.stream("GET", url, timeout=JWKS_FETCH_TIMEOUT_SECONDS, follow_redirects=False) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                data += chunk
                if len(data) > JWKS_BYTES_MAX:
                    raise CommandFailed(f"the JWKS at {url} is over {JWKS_BYTES_MAX} bytes")
    except httpx.HTTPError as exc:
        raise CommandFailed(f"cannot fetch the JWKS at {url}: {type(exc).__name__}") from None
    try:
        return json.loads(data)
    except ValueError:
        raise JsonFileRefused("not JSON") from None
