"""The readable API docs page (Swagger UI, served from the installed package)."""

from __future__ import annotations

import mimetypes
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
