"""Identifiers: strings, time-ordered UUIDs (version 7) when the caller gives none."""

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())
