"""Declared ownership: Backstage descriptors, owners.yaml and Datadog definitions in one model."""

from ownership.catalog.backstage import load_backstage_file, resolve_target
from ownership.catalog.datadog import load_datadog_file
from ownership.catalog.loader import load_catalog, validate_paths
from ownership.catalog.model import (
    ALIAS_ANNOTATIONS,
    DEFAULT_NAMESPACE,
    ONCALL_ANNOTATION,
    ONCALL_ANNOTATIONS,
    RUNBOOK_ANNOTATION,
    SERVICE_NAMES_ANNOTATION,
    TECHDOCS_ANNOTATION,
    Catalog,
    CatalogError,
    Contact,
    Entity,
    EntityRef,
    Link,
    LoadResult,
    RefError,
)
from ownership.catalog.owners_yaml import load_owners_file, owners_json_schema

__all__ = [
    "ALIAS_ANNOTATIONS",
    "DEFAULT_NAMESPACE",
    "ONCALL_ANNOTATION",
    "ONCALL_ANNOTATIONS",
    "RUNBOOK_ANNOTATION",
    "SERVICE_NAMES_ANNOTATION",
    "TECHDOCS_ANNOTATION",
    "Catalog",
    "CatalogError",
    "Contact",
    "Entity",
    "EntityRef",
    "Link",
    "LoadResult",
    "RefError",
    "load_backstage_file",
    "load_catalog",
    "load_datadog_file",
    "load_owners_file",
    "owners_json_schema",
    "resolve_target",
    "validate_paths",
]
