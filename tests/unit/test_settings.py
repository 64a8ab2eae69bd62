"""Typed settings from one YAML file with environment substitution."""

from __future__ import annotations

import pytest

from crm.settings import (
    Settings,
    SettingsError,
    load_settings,
    parse_settings,
    substitute_environment,
)

# -- environment substitution ------------------------------------------------------


def test_variable_is_replaced_by_its_value():
    assert substitute_environment("host: ${CRM_HOST}", {"CRM_HOST": "crm.pomme.fr"}) == ("host: crm.pomme.fr")


def test_default_is_used_when_the_variable_is_unset():
    assert substitute_environment("port: ${CRM_PORT:-8000}", {}) == "port: 8000"


def test_value_wins_over_the_default():
    assert substitute_environment("port: ${CRM_PORT:-8000}", {"CRM_PORT": "8443"}) == "port: 8443"


def test_empty_variable_counts_as_unset():
    assert substitute_environment("port: ${CRM_PORT:-8000}", {"CRM_PORT": ""}) == "port: 8000"


def test_empty_default_is_allowed():
    assert substitute_environment('passphrase: "${CRM_KEY_PASSPHRASE:-}"', {}) == 'passphrase: ""'


def test_default_may_hold_braced_placeholders():
    text = "url: ${CRM_DATABASE_URL:-sqlite:///{data_dir}/{service}.db}"

    assert substitute_environment(text, {}) == "url: sqlite:///{data_dir}/{service}.db"


def test_several_variables_on_one_line_are_all_replaced():
    text = "amqp_uri: amqp://${RABBIT_USER:-guest}:${RABBIT_PASSWORD}@${RABBIT_HOST:-127.0.0.1}/"

    result = substitute_environment(text, {"RABBIT_PASSWORD": "pomme", "RABBIT_HOST": "bus.pomme.fr"})

    assert result == "amqp_uri: amqp://guest:pomme@bus.pomme.fr/"


def test_missing_variable_without_default_is_an_error_naming_it():
    with pytest.raises(SettingsError, match="CRM_KEY_PASSPHRASE"):
        substitute_environment("passphrase: ${CRM_KEY_PASSPHRASE}", {})


def test_text_without_references_is_left_alone():
    text = "data_dir: /srv/crm  # {service} and $HOME stay as written"

    assert substitute_environment(text, {}) == text


def test_comment_lines_may_mention_variables_that_are_not_set():
    text = "# set ${CRM_KEY_PASSPHRASE_UNSET} to encrypt the signing keys\nlog_level: INFO\n"

    assert parse_settings(text, {}).log_level == "INFO"


def test_a_value_starting_with_a_hash_sign_is_substituted():
    settings = parse_settings('auth:\n  key_passphrase: "#${PASS}"\n', {"PASS": "verger"})

    assert settings.auth.key_passphrase == "#verger"


def test_process_environment_is_used_when_none_is_given(monkeypatch):
    monkeypatch.setenv("CRM_TEST_HOST", "crm.pomme.fr")

    assert substitute_environment("${CRM_TEST_HOST}") == "crm.pomme.fr"


def test_secret_holding_a_hash_sign_is_kept_whole():
    settings = parse_settings(
        "auth:\n  key_passphrase: ${CRM_KEY_PASSPHRASE}\n",
        {"CRM_KEY_PASSPHRASE": "verger pomme #42"},
    )

    assert settings.auth.key_passphrase == "verger pomme #42"


def test_default_configuration_accepts_a_passphrase_holding_a_quote(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_CONFIG", raising=False)
    monkeypatch.setenv("CRM_KEY_PASSPHRASE", 'le "verger" de Pomme')

    assert load_settings().auth.key_passphrase == 'le "verger" de Pomme'


# -- parsing ------------------------------------------------------------------------


def test_empty_document_gives_working_defaults():
    settings = parse_settings("")

    assert settings == Settings()
    assert settings.database_url("accounts") == "sqlite:///var/accounts.db"


def test_values_from_yaml_and_environment_are_typed():
    settings = parse_settings(
        "gateway:\n  port: ${CRM_PORT:-8000}\n  cors_origins: [https://app.pomme.fr]\n",
        {"CRM_PORT": "8443"},
    )

    assert settings.gateway.port == 8443
    assert settings.gateway.cors_origins == ["https://app.pomme.fr"]


def test_database_url_is_filled_in_per_service():
    settings = parse_settings(
        "data_dir: /srv/crm\ndatabase:\n  url: ${CRM_DATABASE_URL:-sqlite:///{data_dir}/{service}.db}\n",
        {},
    )

    assert settings.database_url("contacts") == "sqlite:////srv/crm/contacts.db"


def test_bad_yaml_is_a_settings_error():
    with pytest.raises(SettingsError, match="not valid YAML"):
        parse_settings("gateway: [port: 8000\n")


def test_document_that_is_not_a_mapping_is_refused():
    with pytest.raises(SettingsError, match="mapping"):
        parse_settings("- accounts\n- gateway\n")


def test_bad_value_names_its_key():
    with pytest.raises(SettingsError, match=r"gateway\.port"):
        parse_settings("gateway:\n  port: 99999\n")


def test_log_level_is_checked_and_normalised():
    assert parse_settings("log_level: debug\n").log_level == "DEBUG"
    with pytest.raises(SettingsError, match="log_level"):
        parse_settings("log_level: BAVARD\n")


def test_misspelt_key_is_refused_naming_it():
    with pytest.raises(SettingsError, match="gatway"):
        parse_settings("gatway:\n  port: 8000\n")


def test_unknown_service_name_is_refused_naming_it():
    with pytest.raises(SettingsError, match="facturation"):
        parse_settings("services: [accounts, facturation]\n")


def test_nameko_config_carries_the_broker_and_the_settings():
    settings = parse_settings(
        "amqp_uri: amqp://crm:pomme@bus.pomme.fr:5672/\nbus:\n  max_workers: 16\n"
        "gateway:\n  host: 0.0.0.0\n  port: 8080\n"
    )

    config = settings.nameko_config()

    assert config["AMQP_URI"] == "amqp://crm:pomme@bus.pomme.fr:5672/"
    assert config["max_workers"] == 16
    assert config["WEB_SERVER_ADDRESS"] == "0.0.0.0:8080"
    assert config["CRM"] is settings


def test_the_gateway_has_a_worker_pool_of_its_own_size():
    # Its workers wait on services: a slow one must not take every slot from the others.
    settings = parse_settings("bus:\n  max_workers: 16\ngateway:\n  max_workers: 500\n")

    assert settings.nameko_config("gateway")["max_workers"] == 500
    assert settings.nameko_config("contacts")["max_workers"] == 16
    assert parse_settings("{}").nameko_config("gateway")["max_workers"] == 1000


# -- loading --------------------------------------------------------------------------


@pytest.fixture
def no_configuration(monkeypatch, tmp_path):
    """An empty working directory and no CRM_CONFIG."""
    monkeypatch.chdir(tmp_path)
    for name in ("CRM_CONFIG", "AMQP_URI", "CRM_DATABASE_URL", "CRM_DATA_DIR", "CRM_PORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_without_a_file_the_defaults_honour_the_environment(no_configuration, monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://crm:pomme@bus.pomme.fr/")
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://crm@db.pomme.fr/crm")

    settings = load_settings()

    assert settings.amqp_uri == "amqp://crm:pomme@bus.pomme.fr/"
    assert settings.database_url("accounts") == "postgresql://crm@db.pomme.fr/crm"


def test_without_a_file_or_environment_every_setting_has_a_laptop_default(no_configuration):
    settings = load_settings()

    assert settings.database_url("accounts") == "sqlite:///var/accounts.db"
    assert settings.gateway.port == 8000
    assert settings.auth.key_passphrase == ""


def test_crm_yaml_in_the_working_directory_is_read(no_configuration):
    (no_configuration / "crm.yaml").write_text("gateway:\n  port: 8081\n")

    assert load_settings().gateway.port == 8081


def test_crm_config_variable_names_the_file(no_configuration, monkeypatch):
    chosen = no_configuration / "pomme.yaml"
    chosen.write_text("log_level: DEBUG\n")
    monkeypatch.setenv("CRM_CONFIG", str(chosen))

    assert load_settings().log_level == "DEBUG"


def test_missing_file_is_an_error_naming_it(no_configuration):
    with pytest.raises(SettingsError, match="absent.yaml"):
        load_settings(no_configuration / "absent.yaml")


def test_a_postgres_url_is_taken_as_postgresql():
    settings = parse_settings('database:\n  url: "postgres://crm:secret@db:5432/crm"\n')

    assert settings.database.url == "postgresql://crm:secret@db:5432/crm"


def test_a_mysql_url_is_refused_on_one_line_naming_the_key_without_the_password():
    with pytest.raises(SettingsError) as refused:
        parse_settings('database:\n  url: "mysql://root:secret@localhost/crm"\n')

    message = str(refused.value)
    assert message.startswith("configuration has bad values: database.url: mysql databases are not supported")
    assert "\n" not in message and "secret" not in message


# -- run.processes --------------------------------------------------------------------


def test_run_processes_default_to_one_per_service():
    settings = parse_settings("")

    assert [settings.processes_of(name) for name in ("contacts", "gateway")] == [1, 1]


def test_run_processes_are_read_per_service_on_postgresql():
    settings = parse_settings(
        'database:\n  url: "postgresql://crm@db/crm"\nrun:\n  processes: {contacts: 2, gateway: 3}\n'
    )

    assert (settings.processes_of("contacts"), settings.processes_of("gateway")) == (2, 3)
    assert settings.processes_of("accounts") == 1


def test_run_processes_of_an_unknown_service_are_refused_naming_it():
    with pytest.raises(SettingsError, match=r"run\.processes: unknown service\(s\): facturation"):
        parse_settings('database:\n  url: "postgresql://crm@db/crm"\nrun:\n  processes: {facturation: 2}\n')


@pytest.mark.parametrize("count", [0, 33, -1])
def test_run_processes_outside_1_to_32_are_refused_naming_the_service(count):
    with pytest.raises(SettingsError, match="run.processes: contacts: a count from 1 to 32"):
        parse_settings(
            f'database:\n  url: "postgresql://crm@db/crm"\nrun:\n  processes: {{contacts: {count}}}\n'
        )


def test_several_processes_of_a_service_on_sqlite_are_refused_on_one_line():
    with pytest.raises(SettingsError) as refused:
        parse_settings("run:\n  processes: {contacts: 2}\n")

    assert str(refused.value) == (
        "configuration has bad values: "
        "run.processes: several processes of a service need PostgreSQL (database.url)"
    )


def test_several_gateway_processes_on_sqlite_are_allowed_but_not_on_port_0():
    assert parse_settings("run:\n  processes: {gateway: 2}\n").processes_of("gateway") == 2
    with pytest.raises(SettingsError, match="several gateway processes need a fixed gateway.port"):
        parse_settings("gateway:\n  port: 0\nrun:\n  processes: {gateway: 2}\n")
