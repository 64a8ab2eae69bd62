"""The readable API docs page (Swagger UI, served from the installed package)."""

from __future__ import annotations

import mimetypes
from html import escape
from pathlib import Path

import swagger_ui
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

STATIC_DIR = Path(swagger_ui.__file__).parent / "static"
SERVED_FILES = {
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "index.css",
}

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>CRM API</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui"});
  </script>
</body>
</html>
"""


def docs_page() -> Response:
    return Response(DOCS_PAGE, mimetype="text/html")


def static_file(filename: str) -> Response:
    if filename not in SERVED_FILES:
        raise NotFound(f"no docs asset {filename}")
    path = STATIC_DIR / filename
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = Response(path.read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def problems_page(kinds: list[tuple[int, str, str]]) -> Response:
    """What each problem ``type`` means; the anchors are the types' fragments."""
    rows = "\n".join(
        f'  <tr id="{escape(slug)}"><td>{status}</td><td><code>{escape(slug)}</code></td>'
        f"<td>{escape(meaning)}</td></tr>"
        for status, slug, meaning in kinds
    )
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>CRM API problem types</title></head><body>\n"
        "<h1>Problem types</h1>\n<p>Every error is an RFC 9457 problem document; its "
        "<code>type</code> points here. <code>errors</code> lists the fields at fault.</p>\n"
        f"<table>\n  <tr><th>status</th><th>type</th><th>meaning</th></tr>\n{rows}\n</table>\n"
        "</body></html>\n"
    )
    return Response(page, mimetype="text/html")
