"""``python -m services.mailin.smtp [--config FILE]``: run the SMTP ingest listener.

``crm serve mailin-smtp`` starts this in a fresh interpreter: the crm command
patches sockets for eventlet, and asyncio must run on the standard ones.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings

# The listener's imports reach nameko, which imports eventlet: its deprecation notice is not
# this process's to print (asyncio runs here, not eventlet).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from cli.startup import OneLineError, check_database, configure_logging, refuse_published_defaults  # noqa: E402
from crm.metrics.serving import serve_process_metrics  # noqa: E402
from crm.settings import SettingsError, load_settings  # noqa: E402
from services.mailin.smtp.server import serve  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="crm serve mailin-smtp")
    parser.add_argument("--config", "-c", help="YAML configuration file (default: $CRM_CONFIG, ./crm.yaml)")
    arguments = parser.parse_args(argv)
    try:
        settings = load_settings(arguments.config)
    except SettingsError as exc:
        sys.exit(f"crm: {exc}")
    configure_logging(settings, "mailin-smtp")
    try:
        refuse_published_defaults(settings)
        check_database(settings, "mailin")
    except OneLineError as exc:
        sys.exit(f"crm: {exc.message}")
    try:
        serve_process_metrics(settings)  # this process's own: the process_* and python_* metrics
    except SettingsError as exc:
        sys.exit(f"crm: {exc}")
    try:
        asyncio.run(serve(settings))
    except OSError as exc:
        where = f"{settings.mailin.smtp_host}:{settings.mailin.smtp_port}"
        sys.exit(f"crm: the SMTP listener cannot listen on {where} (mailin.smtp_host, smtp_port): {exc}")


if __name__ == "__main__":
    main()
