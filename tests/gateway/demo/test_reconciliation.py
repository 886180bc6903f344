"""The demo's operator resolves every kind of discrepancy, each with an action that fits it."""

from __future__ import annotations

from gateway.demo.reconciliation import RESOLUTIONS
from ledger.reconciliation.model import FITTING_ACTIONS, DiscrepancyKind, ResolutionAction


def test_every_kind_of_discrepancy_has_a_fitting_resolution_and_a_reason() -> None:
    assert set(RESOLUTIONS) == {kind.value for kind in DiscrepancyKind}
    for kind, (action, reason) in RESOLUTIONS.items():
        assert ResolutionAction(action) in FITTING_ACTIONS[DiscrepancyKind(kind)]
        assert reason.strip()
