"""``hub keys``: the signing keys behind the handoff tokens, the documents and the JWKS.

``hub keys rotate`` publishes a new handoff key per algorithm (EdDSA, ES256, RS256) at once; each
signs only after ``hub.key_activation_delay_seconds``, so that vendors have fetched it by then. Until
that moment the previous key keeps signing, and it stays published until every token it signed has
expired.

``hub keys rotate-document`` replaces the document-signing key (Ed25519: certificates, export
manifests) at once: a document is verified against the JWKS when someone checks it, and every
document-signing key stays published for good, so what the old key signed still verifies.

Each rotation is written to the audit log as an act of the command line, naming the new kids (never
any key material).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from config import Settings, load_settings
from gateway.commands import open_hub
from sso.access.model import COMMAND_LINE, AuditAction, AuditDetails, AuditOutcome, NewAuditEntry
from sso.handoff.model import SigningKeyRecord

app = typer.Typer(help="The signing keys of handoff tokens and documents.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]


@app.command()
def rotate(config: ConfigOption = None) -> None:
    """Publish a new handoff key per algorithm; each signs only after the activation delay."""
    settings = load_settings(config)
    for record in asyncio.run(_rotate(settings)):
        typer.echo(
            f"{record.algorithm.value}: published key {record.kid}, signing from {record.activates_at.isoformat()}"
        )
    typer.echo("the previous keys sign until then, and stay published until the last of their tokens has expired")


@app.command("rotate-document")
def rotate_document(config: ConfigOption = None) -> None:
    """Replace the document-signing key now; the old one stays published for good."""
    settings = load_settings(config)
    record = asyncio.run(_rotate_document(settings))
    typer.echo(f"{record.algorithm.value}: document-signing key {record.kid}, signing from now on")
    typer.echo("the previous document-signing keys stay published, so what they signed still verifies")


async def _rotate_document(settings: Settings) -> SigningKeyRecord:
    async with open_hub(settings) as hub:
        record = await hub.handoff.rotate_document_key()
        details = {**_rotation_details([record]), "use": record.use.value}
        await hub.access.audit.record(
            NewAuditEntry(
                actor=COMMAND_LINE, action=AuditAction.KEYS_ROTATED, outcome=AuditOutcome.SUCCEEDED, details=details
            )
        )
    return record


async def _rotate(settings: Settings) -> list[SigningKeyRecord]:
    async with open_hub(settings) as hub:
        records = await hub.handoff.rotate_keys()
        await hub.access.audit.record(
            NewAuditEntry(
                actor=COMMAND_LINE,
                action=AuditAction.KEYS_ROTATED,
                outcome=AuditOutcome.SUCCEEDED,
                details=_rotation_details(records),
            )
        )
    return records


def _rotation_details(records: list[SigningKeyRecord]) -> AuditDetails:
    """The new kids by algorithm (``kid_eddsa``, ``kid_es256``, ``kid_rs256``) and when they start to sign."""
    details: dict[str, str | int | bool | None] = {
        f"kid_{record.algorithm.value.lower()}": record.kid for record in records
    }
    details["activates_at"] = min(record.activates_at for record in records).isoformat()
    return details
