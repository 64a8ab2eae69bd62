"""A search by text finds its matches by the trigram index on PostgreSQL, whatever the sort and
wherever the matches sort: walking the sort's index and filtering read every record sorted
before the first match (a last name late in the alphabet: most of a 100,000-contact table, the
capacity benchmark's slowest requests). The table is analysed, as autovacuum does on a server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text

from crm.database import create_service_engine, is_postgresql
from services.contacts import search
from services.contacts.models import Contact

ORG = "org-plans-" + uuid.uuid4().hex[:8]
LAST_NAMES = ["Adam", "Bernard", "Dubois", "Fournier", "Girard", "Leroy", "Martin", "Petit", "Vincent"]


@pytest.fixture
def engine(migrated):
    if not is_postgresql(migrated.database_url("contacts")):
        pytest.skip("query plans are PostgreSQL's")
    engine = create_service_engine(migrated, "contacts")
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "org_id": ORG,
            "first_name": f"prenom{n}",
            "last_name": LAST_NAMES[n * len(LAST_NAMES) // 3000],
            "search_text": f"prenom{n} {LAST_NAMES[n * len(LAST_NAMES) // 3000].lower()} p{n}@exemple.fr",
            "social": {},
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(3000)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Contact), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE contacts"))  # as autovacuum would, on a real server
    yield engine
    engine.dispose()


def plan_of(engine, q: str, sort: str, direction: str) -> str:
    query = select(Contact).where(Contact.org_id == ORG, Contact.deleted_at.is_(None))
    query, searched = search._matching(query, Contact.search_text, q, "FR")
    keyset = search._contacts_keyset(sort, direction, searched=searched)
    statement = keyset.select_page(query, 20, None)
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        return "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars())


@pytest.mark.parametrize("sort", ["last_name", "first_name", "email"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_search_by_a_name_finds_its_matches_then_sorts_them(engine, sort, direction):
    plan = plan_of(engine, "vincent", sort, direction)
    assert "Sort Key" in plan, plan
    assert "'%vincent%'" in plan, plan


def test_a_list_without_search_is_read_in_the_order_of_its_index(engine):
    plan = plan_of(engine, "", "last_name", "asc")
    assert "ix_contacts_org_id_sort_last_name_id" in plan and "Sort Key" not in plan, plan
