"""``crm admin`` refuses to create a database where the system would never read it."""

from __future__ import annotations

from pathlib import Path

from cli.admin import unplaced_database


def test_a_missing_sqlite_file_with_nothing_saying_where_the_data_is_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/var/accounts.db"

    assert unplaced_database(False, {}, url) == tmp_path / "var" / "accounts.db"


def test_the_database_of_a_system_that_ran_here_is_used(tmp_path):
    (tmp_path / "accounts.db").touch()

    assert unplaced_database(False, {}, f"sqlite:///{tmp_path}/accounts.db") is None


def test_a_configuration_or_an_explicit_place_may_create_the_database(tmp_path):
    url = f"sqlite:///{tmp_path}/var/accounts.db"

    assert unplaced_database(True, {}, url) is None
    assert unplaced_database(False, {"CRM_DATA_DIR": str(tmp_path)}, url) is None
    assert unplaced_database(False, {"CRM_DATABASE_URL": url}, url) is None
    assert unplaced_database(False, {}, "postgresql://crm@127.0.0.1/crm") is None
    assert not Path(tmp_path / "var").exists()
