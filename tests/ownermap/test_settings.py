"""ownermap.settings: defaults < YAML file < OWNERMAP_* environment < flags, validation, HOST:PORT."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ownermap.settings import Settings, load_settings, split_hostport


def _yaml(tmp_path: Path, text: str, name: str = "ownermap.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    s = load_settings()
    assert s.db == "sqlite:///ownermap.db"
    assert (s.otlp_grpc, s.otlp_http, s.api) == ("localhost:4317", "localhost:4318", "localhost:8080")
    assert s.role == "all"
    assert s.pairing_ttl == 5.0
    assert s.max_pending == 200_000
    assert s.catalog == []
    assert s.owner_attributes == ["service.owner", "team", "owner"]
    assert s.max_request_bytes == 16 * 1024 * 1024
    assert s.retention_days == 90
    assert s.api_token is None and s.otlp_token is None


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _yaml(tmp_path, "db: sqlite:///from-file.db\nmax_services: 11\nmax_edges: 22\nrole: ingest\n"
                             "retention_days: 33\n")
    monkeypatch.setenv("OWNERMAP_DB", "sqlite:///from-env.db")
    monkeypatch.setenv("OWNERMAP_MAX_SERVICES", "111")
    monkeypatch.setenv("OWNERMAP_ROLE", "api")
    s = load_settings(config, db="sqlite:///from-flag.db", role=None, max_edges=None)
    assert s.db == "sqlite:///from-flag.db"  # flag beats env and file
    assert s.role == "api"  # None means "flag not given": env wins
    assert s.max_services == 111  # env beats file
    assert s.max_edges == 22  # file beats default
    assert s.retention_days == 33
    assert s.max_pending == 200_000  # default


def test_env_without_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OWNERMAP_PAIRING_TTL", "2.5")
    monkeypatch.setenv("OWNERMAP_DATABASE_AT_ONCE", "true")
    monkeypatch.setenv("OWNERMAP_API_TOKEN", "hunter2")
    s = load_settings()
    assert s.pairing_ttl == 2.5
    assert s.database_at_once is True
    assert s.api_token is not None and s.api_token.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s)


def test_env_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ownermap_max_edges", "9")
    assert load_settings().max_edges == 9


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", ["a"]), ("a,b", ["a", "b"]), (" a , b ,, c ", ["a", "b", "c"]), ("", []), (",", []),
     ("catalog/one.yaml,/abs/two", ["catalog/one.yaml", "/abs/two"])],
)
def test_comma_lists_from_env(monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]) -> None:
    monkeypatch.setenv("OWNERMAP_CATALOG", value)
    monkeypatch.setenv("OWNERMAP_OWNER_ATTRIBUTES", value)
    s = load_settings()
    assert s.catalog == expected
    assert s.owner_attributes == expected


def test_lists_from_yaml_and_flags(tmp_path: Path) -> None:
    config = _yaml(tmp_path, "catalog:\n  - one\n  - two\nowner_attributes: team, squad\n")
    s = load_settings(config)
    assert s.catalog == ["one", "two"]
    assert s.owner_attributes == ["team", "squad"]
    assert load_settings(config, catalog=["flag"]).catalog == ["flag"]
    assert load_settings(config, catalog=()).catalog == ["one", "two"]  # an empty repeatable flag is "not given"


def test_yaml_file_is_read_safely(tmp_path: Path) -> None:
    evil = _yaml(tmp_path, 'db: !!python/object/apply:os.system ["touch pwned"]\n')
    with pytest.raises(Exception, match="constructor"):
        load_settings(evil)
    assert not (tmp_path / "pwned").exists()


def test_empty_yaml_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(_yaml(tmp_path, "")).db == "sqlite:///ownermap.db"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_unknown_yaml_key_is_an_error_naming_it(tmp_path: Path) -> None:
    config = _yaml(tmp_path, "db: sqlite:///x.db\nmax_servics: 5\n")
    with pytest.raises(ValidationError) as info:
        load_settings(config)
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("max_servics",)]
    assert errors[0]["type"] == "extra_forbidden"


def test_unknown_flag_is_an_error() -> None:
    with pytest.raises(ValidationError):
        load_settings(no_such_setting=1)


@pytest.mark.parametrize("field", ["otlp_grpc", "otlp_http", "api"])
@pytest.mark.parametrize("value", ["localhost", "host:", "host:99999", "host:abc", "::1:4317", "[::1]", "",
                                   "ho st:1", "http://host:80", "host:80/path", "[zz::1]:80"])
def test_invalid_host_port(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match="HOST:PORT") as info:
        load_settings(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("field", ["otlp_grpc", "otlp_http", "api"])
def test_invalid_host_port_from_env(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.setenv(f"OWNERMAP_{field.upper()}", "nonsense")
    with pytest.raises(ValidationError, match="HOST:PORT"):
        load_settings()


@pytest.mark.parametrize("url", ["ftp://x", "mysql://u@h/db", "ownermap.db", "/abs/path.db", "", "sqlite"])
def test_invalid_db_url(url: str) -> None:
    with pytest.raises(ValidationError, match="not a database URL"):
        load_settings(db=url)


@pytest.mark.parametrize("url", ["sqlite:///rel.db", "sqlite:////abs.db", "sqlite://:memory:",
                                 "postgresql://u:p@h:5432/db", "postgres://h/db"])
def test_valid_db_urls(url: str) -> None:
    assert load_settings(db=url).db == url


@pytest.mark.parametrize(
    ("field", "value"),
    [("pairing_ttl", 0), ("pairing_ttl", -1), ("pairing_ttl", 3601), ("max_pending", 0), ("max_services", 0),
     ("max_edges", -5), ("max_request_bytes", 10), ("role", "everything"), ("log_level", "verbose"),
     ("retention_days", 0)],
)
def test_out_of_range_values(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        load_settings(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)


def test_bad_number_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OWNERMAP_MAX_SERVICES", "lots")
    with pytest.raises(ValidationError) as info:
        load_settings()
    assert info.value.errors()[0]["loc"] == ("max_services",)


def test_config_file_does_not_leak_into_other_settings(tmp_path: Path) -> None:
    load_settings(_yaml(tmp_path, "max_edges: 3\n"))
    assert Settings.config_file is None
    assert load_settings().max_edges == 500_000


def test_tls_cert_and_key_go_together(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("cert")
    key.write_text("key")
    s = load_settings(tls_cert=cert, tls_key=key)
    assert (s.tls_cert, s.tls_key) == (cert, key)
    with pytest.raises(ValidationError, match="together"):
        load_settings(tls_cert=cert)
    with pytest.raises(ValidationError, match="together"):
        load_settings(tls_key=key)
    with pytest.raises(ValidationError, match="does not exist"):
        load_settings(tls_cert=cert, tls_key=tmp_path / "missing.pem")


# ------------------------------------------------------------------ split_hostport


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost:4317", ("localhost", 4317)),
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:4317", ("::1", 4317)),
        ("[::]:4318", ("::", 4318)),
        ("[2001:db8::1]:65535", ("2001:db8::1", 65535)),
        ("[::ffff:10.0.0.1]:80", ("::ffff:10.0.0.1", 80)),
        (":4317", ("0.0.0.0", 4317)),
        ("my-host.example.com:443", ("my-host.example.com", 443)),
        (" localhost:1 ", ("localhost", 1)),
    ],
)
def test_split_hostport(value: str, expected: tuple[str, int]) -> None:
    assert split_hostport(value) == expected


@pytest.mark.parametrize("value", ["::1:4317", "2001:db8::1:80", "[::1]", "[::1]:", "[::1]:99999", "host",
                                   "host:123456", "[host]:80", "host:-1", ""])
def test_split_hostport_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_hostport(value)


def test_non_mapping_yaml_file_gives_a_clear_error(tmp_path: Path) -> None:
    config = _yaml(tmp_path, "- db\n- api\n", name="list.yaml")
    with pytest.raises(ValueError, match="mapping") as info:
        load_settings(config)
    assert "list.yaml" in str(info.value)


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    config = _yaml(tmp_path, "db: [unclosed\n", name="broken.yaml")
    with pytest.raises(ValueError, match=r"broken\.yaml"):
        load_settings(config)
