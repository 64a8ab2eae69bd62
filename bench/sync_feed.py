"""sync's change feed in-process: CPU and statements per applied event, by kind of event.

Runs ``SyncService._apply`` (the inbox, the feed's functions, the touch) as the service does,
on PostgreSQL: first one event after the other (each alone in its transaction), then
``BENCH_WORKERS`` (default 20) green threads at once, as the service's workers hand their
events over (those that arrive while a transaction is in flight share the next one,
``crm.group_apply``), in a schema of its own made afresh and never
analysed (autovacuum off, as on CI). A background of companies, contacts and interactions
is applied first, then each kind of event in turn, ``BENCH_EVENTS`` times (default 200):
the CPU this process spent (``time.process_time``: the machine is shared, wall time is not
the feed's) and the statements it sent, per event.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_f .venv/bin/python -m bench.sync_feed

``BENCH_PROFILE=interaction_created`` prints cProfile's top functions for that kind.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # as in the service: psycopg2 made cooperative, workers that wait

import cProfile  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import event, text  # noqa: E402

from crm.database import DatabaseAccess, create_service_engine, once_more_on_conflict  # noqa: E402
from crm.settings import Settings  # noqa: E402
from services.sync.models import Base, ChangeCounter  # noqa: E402
from services.sync.service import SyncService  # noqa: E402

SCHEMA = "sync_feed_bench"
ORG = "org-pomme"
USERS = [f"user-{n:02d}" for n in range(20)]
EVENTS = int(os.environ.get("BENCH_EVENTS", "200"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "20"))
BACKGROUND = int(os.environ.get("BENCH_BACKGROUND", "300"))
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Service:
    """What ``SyncService._apply`` and ``on_record_viewed`` need of the service: its database."""

    _apply = SyncService._apply
    _apply_group = SyncService._apply_group
    _touch = SyncService._touch
    on_record_viewed = SyncService.on_record_viewed
    feed_groups = SyncService.feed_groups

    def __init__(self, db: DatabaseAccess):
        self.db = db

    def _feed_transaction(self, transaction: Callable[[], None]) -> None:
        once_more_on_conflict(transaction)


def _id() -> str:
    return str(uuid.uuid4())


def _payload(record: dict[str, Any], actor: str = USERS[0]) -> dict[str, Any]:
    return {
        "event_id": _id(),
        "org_id": ORG,
        "actor_id": actor,
        "occurred_at": NOW.isoformat(),
        "record": record,
    }


def company(company_id: str, version: int = 1) -> dict[str, Any]:
    return {
        "id": company_id,
        "name": f"Boulangerie {company_id[:6]} v{version}",
        "address": {"street": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
        "tags": ["client"],
        "version": version,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def contact(contact_id: str, company_id: str, version: int = 1) -> dict[str, Any]:
    employment = {
        "id": f"e-{contact_id}",
        "contact_id": contact_id,
        "company_id": company_id,
        "function": "Gérante",
        "phone": "01 40 00 00 01",
        "phone_e164": "+33140000001",
        "current": True,
        "version": 1,
    }
    return {
        "id": contact_id,
        "first_name": "Jeanne",
        "last_name": f"Dupont v{version}",
        "email": "jeanne.dupont@example.fr",
        "phone": "01 23 45 67 89",
        "phone_e164": "+33123456789",
        "social": {"linkedin": "https://www.linkedin.com/in/jeanne"},
        "employments": [employment],
        "version": version,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def interaction(interaction_id: str, contacts: list[str], companies: list[str], n: int, version: int = 1):
    owner, invited = USERS[n % len(USERS)], (USERS[(n + 1) % len(USERS)], USERS[(n + 2) % len(USERS)])
    documents = [
        {
            "id": f"d-{interaction_id}-{k}",
            "interaction_id": interaction_id,
            "name": f"scan-{k}.pdf",
            "kind": "attachment",
            "content_type": "application/pdf",
            "size": 12_345,
            "created_at": NOW.isoformat(),
        }
        for k in range(2)
    ]
    return {
        "id": interaction_id,
        "subject": f"Visite boulangerie v{version}",
        "type": "meeting",
        "status": "planned",
        "start_at": (NOW + timedelta(hours=n % 500)).isoformat(),
        "owner_id": owner,
        "contact_ids": contacts,
        "company_ids": companies,
        "participants": [
            {"user_id": user, "status": "invited", "invited_at": NOW.isoformat()} for user in invited
        ],
        "documents": documents if version == 1 else [],
        "version": version,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def _setup(settings: Settings) -> Any:
    engine = create_service_engine(settings, SCHEMA)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(ChangeCounter.__table__.insert().values(id=1, seq=0))
        connection.execute(
            text(
                "INSERT INTO scope_states (user_id, org_id, computed_seq, dirty_seq, valid_until) "
                "SELECT u, :org, 0, 0, now() FROM unnest(CAST(:users AS text[])) AS u"
            ),
            {"org": ORG, "users": USERS},
        )
    return engine


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/crm_bench")
    settings = Settings.model_validate({"database": {"url": url, "pool_size": 2}})
    engine = _setup(settings)
    service = Service(DatabaseAccess(engine, None))
    statements = [0]
    show = bool(os.environ.get("BENCH_SHOW"))

    @event.listens_for(engine, "before_cursor_execute")
    def counted(_connection, _cursor, statement, *_args) -> None:
        statements[0] += 1
        if show:
            print("   ", " ".join(statement.split())[:150])

    state: dict[str, list[str]] = {"companies": [], "contacts": [], "interactions": []}
    measuring = [0]

    def company_created(n: int) -> None:
        state["companies"].append(company_id := _id())
        service._apply(_payload(company(company_id)), "company_created", _lambda("apply_company", False))

    def contact_created(n: int) -> None:
        state["contacts"].append(contact_id := _id())
        record = contact(contact_id, state["companies"][n % len(state["companies"])])
        service._apply(_payload(record), "contact_created", _lambda("apply_contact", False))

    def contact_updated(n: int) -> None:
        contact_id = state["contacts"][(n + EVENTS * measuring[0]) % len(state["contacts"])]  # each once
        version = 2 + n + len(state["contacts"]) * measuring[0]  # newer than the background's
        record = contact(contact_id, state["companies"][n % len(state["companies"])], version=version)
        service._apply(_payload(record), "contact_updated", _lambda("apply_contact", False))

    def interaction_created(n: int) -> None:
        state["interactions"].append(interaction_id := _id())
        contacts = [state["contacts"][(n + k) % len(state["contacts"])] for k in range(2)]
        record = interaction(interaction_id, contacts, [state["companies"][n % len(state["companies"])]], n)
        service._apply(_payload(record), "interaction_created", _feed("apply_interaction"))

    def interaction_updated(n: int) -> None:
        interaction_id = state["interactions"][-1 - n - EVENTS * (measuring[0] - 1)]  # each once
        contacts = [state["contacts"][(n + k) % len(state["contacts"])] for k in range(2)]
        version = 2 + n + EVENTS * measuring[0]  # newer than the pass before's
        record = interaction(
            interaction_id, contacts, [state["companies"][n % len(state["companies"])]], n, version
        )
        service._apply(_payload(record), "interaction_updated", _feed("apply_interaction"))

    def note_added(n: int) -> None:
        record = {
            "id": _id(),
            "interaction_id": state["interactions"][n % len(state["interactions"])],
            "text": "Commande de 40 baguettes",
            "author_id": USERS[0],
            "written_at": NOW.isoformat(),
        }
        service._apply(_payload(record), "interaction_note_added", _feed("apply_note"))

    def record_viewed(n: int) -> None:
        viewed = n + EVENTS * measuring[0]  # not one the pass before viewed
        record = {"table": "contacts", "id": state["contacts"][viewed % len(state["contacts"])]}
        service.on_record_viewed(_payload(record, USERS[n % len(USERS)]))

    kinds: list[tuple[str, Callable[[int], None]]] = [
        ("company_created", company_created),
        ("contact_created", contact_created),
        ("contact_updated", contact_updated),
        ("interaction_created", interaction_created),
        ("interaction_updated", interaction_updated),
        ("note_added", note_added),
        ("record_viewed", record_viewed),
    ]
    for _name, apply in kinds[:4]:  # the background the measured events land among
        for n in range(BACKGROUND):
            apply(n)
    profiled = os.environ.get("BENCH_PROFILE")
    print(
        f"{'event':<22}{'alone: CPU ms/event':>21}{'statements/event':>18}"
        f"{f'{WORKERS} at once: CPU ms/event':>28}{'statements/event':>18}"
    )
    for name, apply in kinds:
        figures = []
        for measured, workers in enumerate((1, WORKERS), start=1):
            measuring[0] = measured
            profile = cProfile.Profile() if name == profiled and workers > 1 else None
            statements[0], started = 0, time.process_time()
            if profile:
                profile.enable()
            pool = eventlet.GreenPool(workers)
            for n in range(EVENTS):
                pool.spawn(apply, n)
            pool.waitall()
            if profile:
                profile.disable()
            figures.append(((time.process_time() - started) * 1000 / EVENTS, statements[0] / EVENTS))
        (alone_cpu, alone_statements), (grouped_cpu, grouped_statements) = figures
        print(
            f"{name:<22}{alone_cpu:>21.2f}{alone_statements:>18.1f}"
            f"{grouped_cpu:>28.2f}{grouped_statements:>18.1f}",
            flush=True,
        )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    engine.dispose()


def _lambda(name: str, deleted: bool) -> Callable[..., Any]:
    from services.sync import feed

    apply = getattr(feed, name)
    return lambda f, record: apply(f, record, deleted)


def _feed(name: str) -> Callable[..., Any]:
    from services.sync import feed

    return getattr(feed, name)


if __name__ == "__main__":
    main()
