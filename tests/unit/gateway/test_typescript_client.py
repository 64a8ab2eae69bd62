"""A TypeScript client generated from the gateway's OpenAPI document, as a JavaScript integrator
would: openapi-typescript (pinned in tests/js) writes it without a warning and tsc type-checks it,
with code that uses it to log in, create a contact and read a page of contacts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from services.gateway.openapi import build_document
from services.gateway.service import GatewayService

TOOLS = Path(__file__).parents[2] / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the TypeScript generator needs it"
)

# Code an integrator writes against the generated types; tsc --strict must accept it, and refuse
# what the document forbids (so the types are not `any`).
USES = """\
import type { components, operations, paths } from "./api";

type Login = paths["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];
type Tokens = paths["/api/v1/auth/login"]["post"]["responses"][200]["content"]["application/json"];
type NewContact = components["schemas"]["ContactCreate"];
type Created = operations["create_contact"]["responses"][201];
type Page = operations["search_contacts"]["responses"][200]["content"]["application/json"];

export const login: Login = { email: "emile@pomme.fr", password: "Pomme-Emile-2024" };
export const bearer = (tokens: Tokens): string => `Bearer ${tokens.access_token}`;
export const contact: NewContact = { first_name: "Émile", last_name: "Zola", email: "emile@pomme.fr" };
export const where = (created: Created): string => created.headers.Location;
export const names = (page: Page): string[] =>
    page.items.map((item) => `${item.first_name ?? ""} ${item.last_name ?? ""}`.trim());
export const next = (page: Page): string | null => page.next_cursor;

// @ts-expect-error: a contact has no such field
export const wrong: NewContact = { first_name: "Émile", nickname: "Mimile" };
// @ts-expect-error: a login needs its password
export const halfLogin: Login = { email: "emile@pomme.fr" };
"""


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=TOOLS, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    if not (TOOLS / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.fail(f"the pinned generator is not installed: run npm ci --prefix {TOOLS}")
    folder = tmp_path_factory.mktemp("typescript-client")
    (folder / "openapi.json").write_text(json.dumps(build_document(GatewayService)))
    result = _run(
        [
            "npx",
            "--no-install",
            "openapi-typescript",
            # Its default takes a field with a default as always present, which holds for answers
            # but would make every optional field of a request body (ContactCreate...) required.
            "--default-non-nullable=false",
            str(folder / "openapi.json"),
            "-o",
            str(folder / "api.d.ts"),
        ],
    )
    return folder, result


def test_openapi_typescript_generates_every_operation_without_a_warning(generated):
    folder, result = generated

    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"warn|error", result.stdout + result.stderr, re.IGNORECASE), result.stderr
    document = json.loads((folder / "openapi.json").read_text())
    operation_ids = {
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    }
    types = (folder / "api.d.ts").read_text()
    assert {name for name in operation_ids if f"\n    {name}: {{" not in types} == set()


def test_the_generated_client_type_checks_with_code_that_uses_it(generated):
    folder, result = generated
    assert result.returncode == 0, result.stdout + result.stderr
    (folder / "uses.ts").write_text(USES)

    checked = _run(
        [
            "npx",
            "--no-install",
            "tsc",
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--moduleResolution",
            "bundler",
            str(folder / "api.d.ts"),
            str(folder / "uses.ts"),
        ],
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
