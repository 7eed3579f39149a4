"""A small catalog of every format (Backstage, owners.yaml, Datadog) for identity and rule tests."""

from __future__ import annotations

from pathlib import Path

from ownership.catalog import Entity, load_catalog
from ownership.identity import CatalogIndex

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations:
    ownermap.io/service-names: checkout-svc, CheckoutService
    pagerduty.com/service-id: P1
  links:
    - {url: https://wiki.example/checkout/runbook, title: Ops}
spec: {type: service, lifecycle: production, owner: payments, dependsOn: [component:cart, resource:orders-db]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  namespace: shop
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
  annotations: {opentelemetry.io/service-name: cart-otel}
spec: {type: service, lifecycle: deprecated, owner: user:alice}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  annotations:
    jaegertracing.io/service: ledger-jaeger
    datadoghq.com/service-name: ledger-dd
    backstage.io/techdocs-ref: dir:.
spec: {type: service, lifecycle: production, owner: ghosts}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: website}
spec: {type: website, lifecycle: production, owner: platform}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: alias-thief
  annotations: {ownermap.io/service-names: cart}
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: orders-db, annotations: {ownermap.io/service-names: "postgres"}}
spec: {type: database, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: engineering}
spec: {type: department, children: [payments, platform]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: platform, annotations: {opsgenie.com/team: platform}}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: empty-parent}
spec: {type: team, children: [empty-child]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: empty-child}
spec: {type: team, children: [empty-parent]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: sre}
spec: {type: team, parent: platform, children: [], members: [dave]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [payments]}
"""

OWNERS = """\
teams:
  - name: search
    members: [bob]
    oncall: https://pd.example/search
  - name: nobody-home
services:
  - name: search-api
    owner: search
    aliases: [search_api_v2]
    runbook: https://r.example/search
    docs: https://d.example/search
  - name: lonely
    owner: nobody-home
  - name: free-agent
  - name: orders
    owner: checkout
"""

DATADOG = """\
schema-version: v2.1
dd-service: recs
team: ml
integrations: {pagerduty: {service-url: https://pd.example/recs}}
"""


def build_index(root: Path) -> CatalogIndex:
    """Write the three files under root and index them (they load without errors)."""
    (root / "catalog-info.yaml").write_text(CATALOG, encoding="utf-8")
    (root / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    (root / "service.datadog.yaml").write_text(DATADOG, encoding="utf-8")
    catalog = load_catalog([root])
    assert catalog.errors == []
    return CatalogIndex(catalog)


def entity(index: CatalogIndex, ref: str) -> Entity:
    found = index.get(ref)
    assert found is not None, ref
    return found
