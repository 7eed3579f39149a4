"""The one owner-reference normaliser (DESIGN §3): catalogs, owners.yaml, Datadog, telemetry.

Backstage's rules: `[kind:][namespace/]name`, case-insensitive, a bare name takes kind Group and the
referring entity's namespace (telemetry, owners.yaml and Datadog teams are in `default`). A GitHub
team handle `@org/team` becomes `github:org/team`, which the catalog index resolves through the
Group annotation `github.com/team-slug`; a GitHub user handle `@login` is the User of that name.
"""

from __future__ import annotations

from ownership.catalog.model import DEFAULT_NAMESPACE, EntityRef, RefError

GITHUB_KIND = "github"
TEAM_SLUG_ANNOTATION = "github.com/team-slug"


def parse_owner(text: object, namespace: str = DEFAULT_NAMESPACE) -> EntityRef:
    """An owner reference as an EntityRef; raises RefError when it cannot be one."""
    if not isinstance(text, str):
        raise RefError(f"owner must be a string, got {type(text).__name__}")
    value = text.strip()
    if value.startswith("@"):
        org, slash, team = value[1:].partition("/")
        if not org or (slash and (not team or "/" in team)):
            raise RefError(f"GitHub handle {text!r} must be @org/team or @user")
        return EntityRef(GITHUB_KIND, org, team) if slash else EntityRef("user", DEFAULT_NAMESPACE, org)
    return EntityRef.parse(value, default_kind="group", default_namespace=namespace)


def team_slug_ref(slug: str) -> EntityRef | None:
    """The `github:org/team` ref a Group's `github.com/team-slug` annotation (`org/team`) answers to."""
    org, slash, team = slug.strip().lstrip("@").partition("/")
    return EntityRef(GITHUB_KIND, org, team) if org and slash and team else None
