"""ownermap.cli through click's CliRunner: help, ingest → graph in every format, errors and exit codes,
OWNERMAP_DB and --config."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import networkx as nx
import pytest
from click.testing import CliRunner, Result

from ownermap.cli import main
from tests.ownermap.otlp_documents import EVIL, otlp_document, otlp_span, resource_spans


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(otlp_document()), encoding="utf-8")
    return path


def db_url(path: Path) -> str:
    return f"sqlite:///{path}"


def run(runner: CliRunner, *args: str, **kwargs: Any) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=True, **kwargs)


@pytest.fixture
def ingested(runner: CliRunner, trace_file: Path, tmp_path: Path) -> str:
    db = db_url(tmp_path / "cli.db")
    result = run(runner, "ingest", "--db", db, str(trace_file))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "ingested 7 spans from 1 file(s): 4 calls, 0 spans rejected" in result.stderr
    return db


def _graph_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, "graph", *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def _edges(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["connection_type"]) for e in doc["edges"]}


EXPECTED_EDGES = {("user", "frontend", "entry"), ("frontend", "checkout", "rpc"),
                  ("checkout", "orders", "database"), (EVIL, "frontend", "rpc")}


# ------------------------------------------------------------------ help


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_contract_commands_exist() -> None:
    commands = set(_commands(main))
    assert {("serve",), ("ingest",), ("graph",)} <= commands


@pytest.mark.parametrize("command", [(), *_commands(main)], ids=lambda c: " ".join(c) or "main")
def test_help_of_every_command(runner: CliRunner, command: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        result = run(runner, *command, flag)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout
    leaf = main
    for name in command:
        leaf = leaf.commands[name]  # type: ignore[attr-defined]
    if not isinstance(leaf, click.Group) and command[0] not in ("catalog",):
        help_text = run(runner, *command, "--help").stdout
        for option in ("--config", "--db", "--catalog"):
            assert option in help_text, (command, option)


def test_version(runner: CliRunner) -> None:
    result = run(runner, "--version")
    assert result.exit_code == 0
    assert "0.1.0" in result.stdout


# ------------------------------------------------------------------ ingest → graph


def test_ingest_then_graph_json(runner: CliRunner, ingested: str) -> None:
    doc = _graph_json(runner, "--db", ingested)
    assert set(doc) == {"window", "nodes", "edges"}
    kinds = {n["id"]: n["kind"] for n in doc["nodes"]}
    assert kinds == {"user": "user", "frontend": "service", "checkout": "service", "orders": "database",
                     EVIL: "service"}
    assert _edges(doc) == EXPECTED_EDGES
    for node in doc["nodes"]:
        assert set(node) == {"id", "kind", "owner", "owner_status"}
    fc = next(e for e in doc["edges"] if e["source"] == "frontend")
    assert fc["calls"] == 1 and fc["errors"] == 0
    assert fc["p50_ms"] is not None


def test_graph_env_and_window_filters(runner: CliRunner, ingested: str) -> None:
    assert _edges(_graph_json(runner, "--db", ingested, "--env", "prod")) == EXPECTED_EDGES
    assert _graph_json(runner, "--db", ingested, "--env", "dev")["edges"] == []
    assert _edges(_graph_json(runner, "--db", ingested, "--window", "1h")) == EXPECTED_EDGES
    assert _graph_json(runner, "--db", ingested, "--end", "2020-01-01")["edges"] == []


def test_graph_dot(runner: CliRunner, ingested: str) -> None:
    result = run(runner, "graph", "--db", ingested, "--format", "dot")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("digraph ownermap {")
    assert '"<b>\\"evil\\"</b>" -> "frontend"' in text
    for line in text.splitlines():
        assert re.sub(r'"(?:[^"\\]|\\.)*"', "", line).count('"') == 0, line


def test_graph_mermaid(runner: CliRunner, ingested: str) -> None:
    result = run(runner, "graph", "--db", ingested, "--format", "mermaid")
    assert result.exit_code == 0
    assert result.stdout.startswith("flowchart LR")
    assert "<b>" not in result.stdout and '"evil"' not in result.stdout
    assert len([line for line in result.stdout.splitlines() if "-->" in line]) == 4


def test_graph_graphml(runner: CliRunner, ingested: str) -> None:
    result = run(runner, "graph", "--db", ingested, "--format", "graphml")
    assert result.exit_code == 0
    ET.fromstring(result.stdout.encode())
    parsed = nx.parse_graphml(result.stdout, force_multigraph=True)
    assert set(parsed.nodes) == {"user", "frontend", "checkout", "orders", EVIL}
    assert parsed.number_of_edges() == 4


def test_graph_cytoscape(runner: CliRunner, ingested: str) -> None:
    result = run(runner, "graph", "--db", ingested, "--format", "cytoscape")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert {n["data"]["id"] for n in doc["elements"]["nodes"]} == {"user", "frontend", "checkout", "orders", EVIL}
    assert len(doc["elements"]["edges"]) == 4


def test_graph_output_file(runner: CliRunner, ingested: str, tmp_path: Path) -> None:
    out = tmp_path / "out" / "graph.dot"
    out.parent.mkdir()
    result = run(runner, "graph", "--db", ingested, "--format", "dot", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("digraph ownermap {")
    result = run(runner, "graph", "--db", ingested, "--output", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))["edges"]


def test_ingest_twice_adds(runner: CliRunner, ingested: str, trace_file: Path) -> None:
    result = run(runner, "ingest", "--db", ingested, str(trace_file))
    assert result.exit_code == 0
    doc = _graph_json(runner, "--db", ingested)
    assert {e["calls"] for e in doc["edges"]} == {2}


def test_ingest_json_lines_and_stdin(runner: CliRunner, tmp_path: Path) -> None:
    db = db_url(tmp_path / "lines.db")
    lines = tmp_path / "traces.jsonl"
    lines.write_text(json.dumps(otlp_document()) + "\n\n" + json.dumps({"resourceSpans": []}) + "\n", encoding="utf-8")
    assert run(runner, "ingest", "--db", db, str(lines)).exit_code == 0
    result = run(runner, "ingest", "--db", db, "-", input=json.dumps(otlp_document()))
    assert result.exit_code == 0, result.output
    assert {e["calls"] for e in _graph_json(runner, "--db", db)["edges"]} == {2}


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("args", [("--window", "7x"), ("--window", "0d"), ("--window", "-1h"),
                                  ("--start", "2026-01-02", "--end", "2026-01-01"),
                                  ("--window", "1d", "--start", "2026-01-01"), ("--end", "tomorrow")])
def test_graph_bad_window_is_a_usage_error(runner: CliRunner, tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run(runner, "graph", "--db", db_url(tmp_path / "w.db"), *args)
    assert result.exit_code == 2, result.output
    assert "--window/--start/--end" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "w.db").exists()  # rejected before the database is touched


def test_graph_window_error_message_is_clear(runner: CliRunner) -> None:
    result = run(runner, "graph", "--window", "7x")
    assert result.exit_code == 2
    assert "'7x' is not <N>m, <N>h, <N>d or <N>w" in result.stderr


def test_graph_bad_format_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner, "graph", "--format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_missing_file_exits_1_naming_it(runner: CliRunner, tmp_path: Path, trace_file: Path) -> None:
    db = db_url(tmp_path / "m.db")
    missing = tmp_path / "no-such-file.json"
    result = run(runner, "ingest", "--db", db, str(missing), str(trace_file))
    assert result.exit_code == 1
    assert f"{missing}: cannot open" in result.stderr
    assert "No such file" in result.stderr
    assert "Traceback" not in result.output
    assert _edges(_graph_json(runner, "--db", db)) == EXPECTED_EDGES  # the good file was still ingested


@pytest.mark.parametrize("content", [b"", b"not traces at all \x00\x01", b"{broken json", b'{"hello": 1}'])
def test_unreadable_file_exits_1_naming_it(runner: CliRunner, tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad-input.bin"
    bad.write_bytes(content)
    result = run(runner, "ingest", "--db", db_url(tmp_path / "b.db"), str(bad))
    assert result.exit_code == 1, result.output
    assert str(bad) in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_ingest_requires_a_file(runner: CliRunner) -> None:
    result = run(runner, "ingest")
    assert result.exit_code == 2
    assert "FILE" in result.stderr


@pytest.mark.parametrize("command", [("graph",), ("ingest", "x.json")])
@pytest.mark.parametrize("url", ["ftp://x", "mysql://db", "ownermap.db"])
def test_bad_db_url_is_a_usage_error(runner: CliRunner, command: tuple[str, ...], url: str) -> None:
    result = run(runner, *command, "--db", url)
    assert result.exit_code == 2, result.output
    assert "not a database URL" in result.stderr


def test_bad_pairing_ttl_is_a_usage_error(runner: CliRunner, trace_file: Path) -> None:
    result = run(runner, "ingest", "--pairing-ttl", "0", str(trace_file))
    assert result.exit_code == 2
    assert "pairing_ttl" in result.stderr


# ------------------------------------------------------------------ environment and config file


def test_ownermap_db_env_is_honoured(runner: CliRunner, tmp_path: Path, trace_file: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env_db = tmp_path / "from-env.db"
    monkeypatch.setenv("OWNERMAP_DB", db_url(env_db))
    assert run(runner, "ingest", str(trace_file)).exit_code == 0
    assert env_db.is_file()
    assert not (tmp_path / "ownermap.db").exists()
    assert _edges(_graph_json(runner)) == EXPECTED_EDGES
    other = db_url(tmp_path / "flag.db")
    assert _graph_json(runner, "--db", other)["edges"] == []  # the flag beats the environment


def test_env_var_bad_db_is_a_usage_error(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OWNERMAP_DB", "ftp://x")
    result = run(runner, "graph")
    assert result.exit_code == 2
    assert "db" in result.stderr


def test_default_db_is_ownermap_db_in_the_working_directory(runner: CliRunner, tmp_path: Path,
                                                            trace_file: Path) -> None:
    assert run(runner, "ingest", str(trace_file)).exit_code == 0
    assert (tmp_path / "ownermap.db").is_file()


def test_config_file_is_honoured(runner: CliRunner, tmp_path: Path, trace_file: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cfg_db = tmp_path / "from-config.db"
    config = tmp_path / "ownermap.yaml"
    config.write_text(f"db: {db_url(cfg_db)}\npairing_ttl: 1.5\n", encoding="utf-8")
    assert run(runner, "ingest", "--config", str(config), str(trace_file)).exit_code == 0
    assert cfg_db.is_file()
    assert _edges(_graph_json(runner, "--config", str(config))) == EXPECTED_EDGES
    monkeypatch.setenv("OWNERMAP_DB", db_url(tmp_path / "env-wins.db"))
    assert _graph_json(runner, "--config", str(config))["edges"] == []  # env beats the file


def test_config_file_with_unknown_key(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "ownermap.yaml"
    config.write_text("db: sqlite:///x.db\nmax_servics: 5\n", encoding="utf-8")
    result = run(runner, "graph", "--config", str(config))
    assert result.exit_code == 2
    assert "max_servics" in result.stderr
    assert "invalid settings" in result.stderr


def test_config_file_missing(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "graph", "--config", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 2
    assert "absent.yaml" in result.stderr


def test_config_file_with_yaml_syntax_error_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("db: [unclosed\n", encoding="utf-8")
    result = run(runner, "graph", "--config", str(config))
    assert result.exit_code == 2, (result.exit_code, repr(result.exception))
    assert "broken.yaml" in result.stderr


def test_graph_extreme_end_date_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "graph", "--db", db_url(tmp_path / "e.db"), "--end", "0001-01-01")
    assert result.exit_code == 2, (result.exit_code, repr(result.exception))


# --------------------------------------------------------------------------- ingest: bad files, as a subprocess


def _ingest_process(db: str, *files: str, env: dict[str, str] | None = None,
                    timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ownermap", "ingest", "--db", db, *files],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, check=False,
    )


def _one_service_file(path: Path, service: str, trace: str) -> Path:
    start = time.time_ns() - 60_000_000_000
    doc = {"resourceSpans": [resource_spans(service, otlp_span(trace, "1", "", 2, start))]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _services_in(runner: CliRunner, db: str) -> set[str]:
    return {n["id"] for n in _graph_json(runner, "--db", db)["nodes"]}


def test_ingest_reports_a_non_utf8_file_and_imports_the_files_around_it(runner: CliRunner, tmp_path: Path) -> None:
    db = db_url(tmp_path / "bad.db")
    first = _one_service_file(tmp_path / "first.json", "first", "a")
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"resourceSpans": [], "note": "caf\xe9"}')
    last = _one_service_file(tmp_path / "last.json", "last", "b")
    done = _ingest_process(db, str(first), str(bad), str(last))
    assert done.returncode == 1
    assert f"ownermap: {bad}: not UTF-8: byte 0xe9 at offset 34 (invalid continuation byte)\n" in done.stderr
    assert "Traceback" not in done.stderr
    assert "ingested 2 spans from 3 file(s)" in done.stderr
    assert {"first", "last"} <= _services_in(runner, db)


def test_ingest_refuses_dev_zero_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    done = _ingest_process(db_url(tmp_path / "z.db"), "/dev/zero", timeout=30)
    assert done.returncode == 1
    assert "ownermap: /dev/zero: cannot open: a character device, not a regular file" in done.stderr
    assert time.monotonic() - started < 20


def test_ingest_refuses_a_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    good = _one_service_file(tmp_path / "good.json", "good", "a")
    done = _ingest_process(db_url(tmp_path / "f.db"), str(fifo), str(good), timeout=30)
    assert done.returncode == 1
    assert f"ownermap: {fifo}: cannot open: a FIFO, not a regular file" in done.stderr
    assert "ingested 1 spans from 2 file(s)" in done.stderr


def test_ingest_refuses_a_file_over_max_ingest_file_bytes(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps(otlp_document()) + " " * 4096, encoding="utf-8")
    done = _ingest_process(db_url(tmp_path / "b.db"), str(big), env={"OWNERMAP_MAX_INGEST_FILE_BYTES": "4096"})
    assert done.returncode == 1
    size = big.stat().st_size
    assert f"ownermap: {big}: {size} bytes is over the 4096-byte limit for one file (max_ingest_file_bytes" \
        in done.stderr


def test_ingest_rejects_spans_older_than_the_retention_and_says_why(runner: CliRunner, tmp_path: Path) -> None:
    db = db_url(tmp_path / "old.db")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(otlp_document(start_ns=time.time_ns() - 100 * 86_400 * 10**9)), encoding="utf-8")
    result = run(runner, "ingest", "--db", db, str(old))
    assert result.exit_code == 0
    assert "ingested 0 spans from 1 file(s): 0 calls, 7 spans rejected" in result.stderr
    assert "days ago, past the retention (compaction would delete it" in result.stderr
    result = run(runner, "ingest", "--db", db, str(old), env={"OWNERMAP_MAX_SPAN_AGE_DAYS": "365"})
    assert "ingested 7 spans from 1 file(s): 4 calls, 0 spans rejected" in result.stderr
