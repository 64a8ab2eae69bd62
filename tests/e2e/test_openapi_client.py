"""A Python client generated from the served OpenAPI document, with the generator's defaults,
drives the running system as an integrator's code would."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.conftest import PASSWORD, System

pytestmark = pytest.mark.e2e

PACKAGE = "crm_api_client"


@pytest.fixture(scope="module")
def generated_client(system: System, tmp_path_factory) -> ModuleType:
    """``openapi-python-client generate`` (default settings) run on ``/api/v1/openapi.json``."""
    folder = tmp_path_factory.mktemp("openapi-client")
    document = folder / "openapi.json"
    document.write_text(json.dumps(system.anonymous().get("/api/v1/openapi.json").json()))
    # The generator formats its output with ruff, found on the PATH beside this interpreter.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    generated = subprocess.run(
        [f"{bin_dir}/openapi-python-client", "generate", "--path", str(document), "--output-path", "out"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(folder / "out"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder / "out"))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_logs_in_creates_a_company_and_a_contact_and_lists_contacts(
    system: System, generated_client: ModuleType
):
    _, email = system.bootstrap_org("Pomme Siège Central")
    address = {"X-Forwarded-For": "10.14.3.7"}
    models = _module("models")
    anonymous = generated_client.Client(base_url=system.base_url, headers=address)

    tokens = _module("api.auth.login").sync(
        client=anonymous, body=models.LoginRequest(email=email, password=PASSWORD)
    )
    assert isinstance(tokens, models.TokenPair), tokens
    client = generated_client.AuthenticatedClient(
        base_url=system.base_url, token=tokens.access_token, headers=address
    )
    company = _module("api.companies.create_company").sync(
        client=client, body=models.CompanyCreate(name="Chambre 404 SARL")
    )
    assert isinstance(company, models.CompanyOut), company
    created = _module("api.contacts.create_contact").sync_detailed(
        client=client,
        body=models.ContactCreate(
            first_name="Émile",
            last_name="Zola",
            email="emile@pomme.fr",
            employments=[models.EmploymentCreate(company_id=company.id, function="Gérant")],
        ),
    )
    page = _module("api.contacts.search_contacts").sync(client=client)

    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/v1/contacts/{created.parsed.id}"
    assert created.headers["X-Request-ID"]
    assert isinstance(page, models.ContactListPage), page
    assert [(item.first_name, item.last_name) for item in page.items] == [("Émile", "Zola")]
    assert (page.sort.field, page.sort.source.value) == ("last_name", "default")
    assert [current.name for current in page.items[0].current_companies] == ["Chambre 404 SARL"]
