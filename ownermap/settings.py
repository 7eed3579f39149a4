"""Settings: defaults < YAML config file < OWNERMAP_* environment variables < command-line flags."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from graph.aggregate import DEFAULT_MAX_EDGES, DEFAULT_MAX_ENVIRONMENTS, DEFAULT_MAX_SERVICES
from graph.model import DEFAULT_OWNER_ATTRIBUTES

_HOSTPORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]*):([0-9]{1,5})$")

CommaList = Annotated[list[str], NoDecode]


def split_hostport(value: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets) → (host, port)."""
    match = _HOSTPORT.match(value.strip())
    if not match or int(match.group(2)) > 65535:
        raise ValueError(f"{value!r} is not HOST:PORT (for example localhost:4317 or [::1]:4317)")
    host = match.group(1).strip("[]") or "0.0.0.0"  # noqa: S104 - an empty host means all interfaces
    return host, int(match.group(2))


class Settings(BaseSettings):
    """Everything configurable; every field is also `OWNERMAP_<NAME>` and a key in the YAML file."""

    model_config = SettingsConfigDict(env_prefix="OWNERMAP_", extra="forbid", validate_default=True)
    config_file: ClassVar[Path | None] = None

    db: str = "sqlite:///ownermap.db"
    otlp_grpc: str = "localhost:4317"
    otlp_http: str = "localhost:4318"
    api: str = "localhost:8080"
    role: Literal["all", "ingest", "api"] = "all"
    pairing_ttl: float = Field(5.0, gt=0, le=3600)
    max_pending: int = Field(200_000, ge=1, le=100_000_000)
    database_at_once: bool = False
    catalog: CommaList = Field(default_factory=list)
    owner_attributes: CommaList = Field(default_factory=lambda: list(DEFAULT_OWNER_ATTRIBUTES))
    max_request_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_decompressed_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    max_services: int = Field(DEFAULT_MAX_SERVICES, ge=1)
    max_edges: int = Field(DEFAULT_MAX_EDGES, ge=1)
    max_environments: int = Field(DEFAULT_MAX_ENVIRONMENTS, ge=1)
    ingest_queue_batches: int = Field(64, ge=1)
    ingest_queue_spans: int = Field(100_000, ge=1)
    max_concurrent_requests: int = Field(64, ge=1)
    grpc_max_concurrent: int = Field(16, ge=1, le=1024)
    grpc_max_inflight_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    ingest_thread_nice: int = Field(10, ge=0, le=19)
    query_cache_seconds: float = Field(5.0, ge=0, le=3600)
    query_mirror_days: float = Field(8.0, ge=0, le=400)
    query_mirror_max_rows: int = Field(500_000, ge=0)
    map_max_nodes: int = Field(150, ge=2, le=2000)
    retention_days: int = Field(90, ge=1)
    max_span_age_days: float | None = Field(None, gt=0)
    max_span_future_seconds: float = Field(3600.0, ge=0)
    max_ingest_file_bytes: int = Field(256 * 1024 * 1024, ge=1024)
    api_token: SecretStr | None = None
    otlp_token: SecretStr | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    report_schedule: str | None = None
    report_webhook: str | None = None
    report_webhook_format: Literal["slack", "json"] = "slack"
    report_webhook_attempts: int = Field(5, ge=1, le=20)
    report_dir: Path | None = None
    entry_node: str = Field("user", min_length=1, max_length=256, pattern=r"\S")
    messaging_ttl: float = Field(300.0, gt=0, le=86_400)
    address_memory: float = Field(7.0, gt=0, le=365)
    objective_min_calls: int = Field(100, ge=1)
    burn_min_calls: int = Field(10, ge=1)
    episode_min_failed: int = Field(10, ge=1)
    episode_error_ratio: float = Field(0.05, gt=0, le=1)
    working_hours: str = "Mon-Fri 09:00-18:00"

    @field_validator("working_hours")
    @classmethod
    def _working_hours(cls, value: str) -> str:
        from ownership.oncall.hours import parse_working_hours

        parse_working_hours(value)  # WorkingHoursError (a ValueError) says what is wrong
        return value
    catalog_refresh: float = Field(300.0, ge=1)
    backstage_timeout: float = Field(30.0, gt=0, le=600)
    backstage_token: SecretStr | None = None

    @field_validator("report_schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value:
            from croniter import croniter

            if not croniter.is_valid(value):
                raise ValueError(f"{value!r} is not a cron expression (for example '0 9 * * 1': Mondays 09:00)")
        return value

    @field_validator("report_webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("catalog", "owner_attributes", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("otlp_grpc", "otlp_http", "api")
    @classmethod
    def _hostport(cls, value: str) -> str:
        split_hostport(value)
        return value

    @field_validator("db")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgres:")):
            raise ValueError(f"{value!r} is not a database URL: use sqlite:///PATH or postgresql://…")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key must be given together")
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file {path} does not exist")
        return self

    @property
    def span_age_limit_days(self) -> float:
        """How old a span may be when it arrives: `max_span_age_days`, else the retention."""
        return self.max_span_age_days if self.max_span_age_days is not None else float(self.retention_days)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init) beat the environment, which beats the YAML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.config_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=cls.config_file))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from an optional YAML file, the environment and explicit overrides (None = not given)."""
    given = {key: value for key, value in overrides.items() if value is not None and value != ()}
    if config_file is None:
        return Settings(**given)
    if not config_file.is_file():
        raise ValueError(f"config file {config_file} does not exist")
    try:
        content = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"config file {config_file} is not readable YAML: {exc}") from None
    if content is not None and not isinstance(content, dict):
        raise ValueError(f"config file {config_file} must be a mapping of setting names to values, "
                         f"not a {type(content).__name__}")
    bound = type("FileSettings", (Settings,), {"config_file": config_file, "__module__": __name__})
    return bound(**given)
