"""Who calls the contacts service in these tests, and test data that reads like a French CRM."""

from __future__ import annotations

from dataclasses import dataclass

KID = "cle-contacts-2026"
POMME = "org-pomme"
POIRE = "org-poire"


@dataclass(frozen=True)
class Person:
    user_id: str
    org_id: str
    role: str = "member"
    read_only: bool = False


ALICE = Person("user-alice", POMME, role="admin")  # admin of Pomme
BOB = Person("user-bob", POMME)  # member of Pomme
CLAIRE = Person("user-claire", POMME, role="admin", read_only=True)  # read-only admin of Pomme
DIANE = Person("user-diane", POIRE, role="admin")  # admin of Poire

SIEGE = {
    "name": "Pomme Siège Central",
    "group": "Pomme",
    "address": {"street": "12 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "France"},
    "phone": "01 42 68 53 00",
    "email": "Accueil@Pomme.fr",
    "website": "https://www.pomme.fr",
    "social": {"linkedin": "https://www.linkedin.com/company/pomme", "x": "@pomme"},
    "notes": "Siège social.\nAccueil au 3e étage.",
    "tags": ["client", "grand compte"],
}
MAGASIN = {"name": "Pomme Magasin", "group": "Pomme", "address": {"city": "Lyon"}}
ENTREPOTS = {"name": "Pomme Entrepôts", "group": "Pomme", "address": {"city": "Rungis"}}
CABINET = {"name": "Cabinet Dupuis", "address": {"city": "Nantes"}}

JEANNE = {
    "first_name": "Jeanne",
    "last_name": "Dupont",
    "email": "Jeanne.Dupont@Exemple.fr",
    "mobile": "+33 6 12 34 56 78",
    "phone": "01 45 67 89 10",
    "address": {"street": "3 place du Marché", "postal_code": "69001", "city": "Lyon", "country": "France"},
    "note": "Préfère être appelée le matin.",
    "social": {"linkedin": "https://www.linkedin.com/in/jeanne-dupont"},
}
FRANCOIS = {"first_name": "François", "last_name": "Lefèvre", "email": "francois.lefevre@exemple.fr"}
