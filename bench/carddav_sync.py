"""CardDAV benchmark: an address book of 10,000 cards synced through the gateway, on PostgreSQL.

Starts `crm run` on ``crm_bench`` (``bench.system``) after filling sync's
replica with SQL as the change feed would have: 10,000 contacts
(``BENCH_CARDS``), each employed at one of 500 companies, and their cards
(``address_cards``, details kept, no text written yet). The client
authenticates as a CardDAV client does: HTTP Basic with an API token (the
gateway keeps the exchanged access token ``auth.api_token_cache_seconds``).
Then, in one run:

- baselines: ``GET /api/v1/me`` (bearer token, one small RPC) and a
  ``PROPFIND`` Depth 0 of the book (the least a CardDAV request costs);
- initial ``sync-collection`` (empty token, ``getetag``): every card's href and
  ETag, as DAVx5 or Apple Contacts start; ``PROPFIND`` Depth 1 (vdirsyncer's listing);
- ``addressbook-multiget`` of every card in batches of 100, first with no text
  written yet (each card written by vobject), then again (texts kept);
- incremental ``sync-collection`` after 100 changed cards, 50 times, and the
  multiget of those 100 (written again);
- ``sync-collection`` asking for ``address-data``, followed through its 507 pages
  to the end (1,000 cards per answer).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import statistics
import time
import urllib.request
from typing import Any

from lxml import etree
from sqlalchemy import create_engine, text

from bench.cpu import CpuMeter, CpuRow, format_cpu_table
from bench.system import DATABASE, BenchSystem, running_system

CARDS = int(os.environ.get("BENCH_CARDS", "10000"))
COMPANIES = 500
BATCH = 100
DAV = "{DAV:}"
SYNC = (
    '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:" '
    'xmlns:c="urn:ietf:params:xml:ns:carddav"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/>{data}</d:prop></d:sync-collection>"
)
MULTIGET = (
    '<?xml version="1.0" encoding="utf-8"?><c:addressbook-multiget xmlns:d="DAV:" '
    'xmlns:c="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><c:address-data/></d:prop>'
    "{hrefs}</c:addressbook-multiget>"
)
LISTING = '<propfind xmlns="DAV:"><prop><resourcetype/><getcontenttype/><getetag/></prop></propfind>'

SEED = """
INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'companies', 'co-' || k, k, 1, false, json_build_object(
  'id', 'co-' || k, 'name', 'Boulangerie ' || k, 'group_name', NULL, 'street', k || ' rue de la Paix',
  'postal_code', '75002', 'city', 'Paris', 'country', 'FR', 'latitude', NULL, 'longitude', NULL,
  'phone', NULL, 'email', NULL, 'website', NULL, 'notes', NULL, 'tags', '[]', 'version', 1,
  'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM generate_series(1, :companies) AS k;

INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'contacts', 'ct-' || c, :companies + c, 1, false, json_build_object(
  'id', 'ct-' || c, 'first_name', 'Élodie', 'last_name', 'Martin ' || c, 'phone', '01 23 45 67 89',
  'mobile', '06 12 34 56 78', 'email', 'elodie' || c || '@exemple.fr', 'street', c || ' avenue Foch',
  'postal_code', '69006', 'city', 'Lyon', 'country', 'FR', 'latitude', NULL, 'longitude', NULL,
  'note', 'Préfère être appelée le matin', 'birthday', '1985-06-21', 'website', NULL, 'version', 1,
  'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM generate_series(1, :cards) AS c;

INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'employments', 'em-' || c, :companies + :cards + c, 1, false, json_build_object(
  'id', 'em-' || c, 'contact_id', 'ct-' || c, 'company_id', 'co-' || (1 + c % :companies),
  'function', 'Gérante', 'phone', '01 40 00 00 01', 'mobile', NULL, 'email', 'em' || c || '@exemple.fr',
  'start_date', '2024-01-01', 'end_date', NULL, 'is_current', true, 'version', 1,
  'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM generate_series(1, :cards) AS c;

INSERT INTO sync.replica_links (org_id, from_table, from_id, to_table, to_id)
SELECT :org, 'contacts', 'ct-' || c, 'employments', 'em-' || c FROM generate_series(1, :cards) AS c
UNION ALL
SELECT :org, 'companies', 'co-' || (1 + c % :companies), 'employments', 'em-' || c
FROM generate_series(1, :cards) AS c;

INSERT INTO sync.address_cards (org_id, contact_id, seq, deleted, details)
SELECT :org, 'ct-' || c, :companies + :cards + c, false, json_build_object(
  'phone_e164', '+33123456789', 'mobile_e164', '+33612345678',
  'social', json_build_object('linkedin', 'https://www.linkedin.com/in/elodie-' || c),
  'jobs', json_build_object('em-' || c, json_build_object('phone_e164', '+33140000001')))::text
FROM generate_series(1, :cards) AS c;

UPDATE sync.change_counter SET seq = :companies + 2 * :cards WHERE id = 1;
"""


def _engine() -> Any:
    return create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))


def seed(org_id: str) -> None:
    engine = _engine()
    params = {"org": org_id, "cards": CARDS, "companies": COMPANIES}
    with engine.begin() as connection:
        for statement in SEED.split(";\n"):
            if statement.strip():
                connection.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("replica_records", "replica_links", "address_cards"):
            connection.execute(text(f"VACUUM ANALYZE sync.{table}"))
    engine.dispose()


def change_cards(org_id: str, count: int, offset: int) -> list[str]:
    """``count`` contacts changed, as a contact_updated event would change them and their cards."""
    ids = [f"ct-{1 + (offset + n) % CARDS}" for n in range(count)]
    engine = _engine()
    with engine.begin() as connection:
        seq = connection.execute(
            text("UPDATE sync.change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        ).scalar()
        connection.execute(
            text(
                "UPDATE sync.replica_records SET seq = :seq, raw = replace(raw, 'le matin', 'le soir') "
                "WHERE org_id = :org AND table_name = 'contacts' AND record_id = ANY(:ids)"
            ),
            {"seq": seq, "org": org_id, "ids": ids},
        )
        connection.execute(
            text(
                "UPDATE sync.address_cards SET seq = :seq, vcard_3 = NULL, vcard_4 = NULL "
                "WHERE org_id = :org AND contact_id = ANY(:ids)"
            ),
            {"seq": seq, "org": org_id, "ids": ids},
        )
    engine.dispose()
    return ids


class Client:
    """One keep-alive connection to the gateway, as one CardDAV client or one browser."""

    def __init__(self, system: BenchSystem, authorization: str):
        self.port = system.port
        self.authorization = authorization
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def call(
        self, method: str, path: str, body: str = "", depth: str | None = None
    ) -> tuple[int, bytes, float]:
        headers = {"Authorization": self.authorization, "Content-Type": "application/xml; charset=utf-8"}
        if depth is not None:
            headers["Depth"] = depth
        started = time.perf_counter()
        self.connection.request(method, path, body=body.encode(), headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, data, (time.perf_counter() - started) * 1000


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _row(name: str, latencies: list[float], note: str = "") -> str:
    return (
        f"| {name} | {len(latencies)} | {statistics.median(latencies):.1f} "
        f"| {_percentile(latencies, 95):.1f} | {max(latencies):.1f} | {note} |"
    )


def _responses(data: bytes) -> tuple[list[Any], str | None]:
    root = etree.fromstring(data)
    return root.findall(f"{DAV}response"), root.findtext(f"{DAV}sync-token")


def _api_token(system: BenchSystem, access_token: str) -> str:
    request = urllib.request.Request(
        f"{system.base_url}/api/v1/auth/tokens",
        data=json.dumps({"name": "bench carddav"}).encode(),
        headers={"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["token"]


def main() -> None:
    print(f"seeding {CARDS:,} contacts and their cards ...", flush=True)
    with running_system("carddav", seed=seed) as system:
        access_token = system.admin_token()
        me = json.load(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{system.base_url}/api/v1/me", headers={"Authorization": f"Bearer {access_token}"}
                )
            )
        )
        basic = base64.b64encode(f"bench@pomme.fr:{_api_token(system, access_token)}".encode()).decode()
        browser = Client(system, f"Bearer {access_token}")
        dav = Client(system, f"Basic {basic}")
        book = f"/dav/addressbooks/{me['id']}/contacts/"
        rows, cpu_rows = [], []

        baseline = [browser.call("GET", "/api/v1/me")[2] for _ in range(300)][50:]
        rows.append(_row("baseline GET /api/v1/me (bearer)", baseline))
        floor = [dav.call("PROPFIND", book, depth="0")[2] for _ in range(300)][50:]
        rows.append(_row("baseline PROPFIND Depth 0 of the book (Basic, API token)", floor))

        initial, sizes = [], []
        with CpuMeter({system.pid}) as meter:
            for _ in range(5):
                status, data, ms = dav.call("REPORT", book, SYNC.format(token="", data=""), depth="1")
                assert status == 207, data[:300]
                initial.append(ms)
                sizes.append(len(data))
        responses, token = _responses(data)
        assert len(responses) == CARDS, len(responses)
        rows.append(
            _row("initial sync-collection, getetag", initial, f"{CARDS:,} cards, {sizes[-1] / 1e6:.1f} MB")
        )
        cpu_rows.append(CpuRow("initial sync-collection", 5, meter.seconds))

        listing = []
        for _ in range(5):
            status, data, ms = dav.call("PROPFIND", book, LISTING, depth="1")
            assert status == 207
            listing.append(ms)
        rows.append(_row("PROPFIND Depth 1 (listing)", listing, f"{CARDS:,} cards"))

        hrefs = [r.findtext(f"{DAV}href") for r in responses]
        for label in ("no text written yet", "texts kept"):
            batches = []
            started = time.perf_counter()
            with CpuMeter({system.pid}) as meter:
                for start in range(0, len(hrefs), BATCH):
                    body = MULTIGET.format(
                        hrefs="".join(f"<d:href>{h}</d:href>" for h in hrefs[start : start + BATCH])
                    )
                    status, data, ms = dav.call("REPORT", book, body, depth="1")
                    assert status == 207 and data.count(b"address-data>") == 2 * BATCH, data[:300]
                    batches.append(ms)
            total = time.perf_counter() - started
            rows.append(
                _row(f"multiget of {BATCH} cards, {label}", batches, f"all {CARDS:,} in {total:.1f} s")
            )
            cpu_rows.append(CpuRow(f"multiget of {BATCH}, {label}", len(batches), meter.seconds))

        incremental, refetch = [], []
        with CpuMeter({system.pid}) as meter:
            for n in range(50):
                changed = set(change_cards(system.org_id, 100, n * 100))
                status, data, ms = dav.call("REPORT", book, SYNC.format(token=token, data=""), depth="1")
                assert status == 207
                responses, token = _responses(data)
                got = {r.findtext(f"{DAV}href").rsplit("/", 1)[1].removesuffix(".vcf") for r in responses}
                assert got == changed, (len(got), len(changed))
                incremental.append(ms)
                body = MULTIGET.format(
                    hrefs="".join(f"<d:href>{book}{i}.vcf</d:href>" for i in sorted(changed))
                )
                status, data, ms = dav.call("REPORT", book, body, depth="1")
                assert status == 207
                refetch.append(ms)
        rows.append(_row("incremental sync-collection after 100 changes", incremental, "100 cards"))
        rows.append(_row("multiget of the 100 changed cards (written again)", refetch))
        cpu_rows.append(CpuRow("incremental sync + multiget of 100", 50, meter.seconds))

        with_data = []
        for _ in range(3):
            started, pages, cards, page_token = time.perf_counter(), 0, 0, ""
            while True:
                status, data, _ = dav.call(
                    "REPORT", book, SYNC.format(token=page_token, data="<c:address-data/>"), depth="1"
                )
                assert status == 207
                responses, page_token = _responses(data)
                pages += 1
                cut = any(r.findtext(f"{DAV}href") == book for r in responses)
                cards += len(responses) - cut
                if not cut:
                    break
            with_data.append((time.perf_counter() - started) * 1000)
        rows.append(
            _row(
                "initial sync-collection with address-data, all pages",
                with_data,
                f"{cards:,} cards in {pages} pages",
            )
        )

        print("\n| measurement | n | p50 ms | p95 ms | max ms | |")
        print("|---|---:|---:|---:|---:|---|")
        for row in rows:
            print(row)
        base = statistics.median(baseline)
        print(
            f"\nratios to GET /api/v1/me's p50 ({base:.1f} ms): "
            f"PROPFIND Depth 0 x{statistics.median(floor) / base:.1f}, "
            f"initial sync-collection x{statistics.median(initial) / base:.0f}, "
            f"incremental p95 x{_percentile(incremental, 95) / base:.1f}"
        )
        print()
        print(format_cpu_table(cpu_rows, unit="request"))


if __name__ == "__main__":
    main()
