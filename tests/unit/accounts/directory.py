"""Who is who in the accounts test database, and their passwords."""

from __future__ import annotations

from dataclasses import dataclass

ALICE_PASSWORD = "Pomme-Alice-2024!"
BOB_PASSWORD = "Pomme-Bob-2024!"
CLAIRE_PASSWORD = "Pomme-Claire-2024!"
EMILE_PASSWORD = "Pomme-Emile-2024!"
DIANE_PASSWORD = "Poire-Diane-2024!"


@dataclass(frozen=True)
class Directory:
    """Who is who in the template database."""

    pomme_org: str
    alice: str  # admin of Pomme
    bob: str  # member of Pomme, hourly cost 45.00 EUR
    claire: str  # read-only admin of Pomme
    emile: str  # member of Pomme, no hourly cost
    poire_org: str
    diane: str  # sole admin of Poire
