"""Identity: matching telemetry names to entities, owner resolution (documentation signals: findings/)."""

from __future__ import annotations

import pytest

from ownership.catalog import Catalog, Entity, EntityRef
from ownership.identity import CatalogIndex
from ownership.names import normalise, telemetry_names
from tests.ownership.sample_catalog import build_index, entity


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    return build_index(tmp_path_factory.mktemp("catalog"))


# -- matching ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("telemetry", "expected", "how", "source"),
    [
        ("checkout", "component:default/checkout", "name", "metadata.name"),
        ("CHECKOUT", "component:default/checkout", "name", "metadata.name"),
        ("checkout-svc", "component:default/checkout", "alias", "ownermap.io/service-names"),
        ("checkoutservice", "component:default/checkout", "alias", "ownermap.io/service-names"),
        ("cart-otel", "component:default/cart", "alias", "opentelemetry.io/service-name"),
        ("ledger-jaeger", "component:default/ledger", "alias", "jaegertracing.io/service"),
        ("ledger-dd", "component:default/ledger", "alias", "datadoghq.com/service-name"),
        ("search_api_v2", "component:default/search-api", "alias", "ownermap.io/service-names"),
        ("recs", "component:default/recs", "name", "metadata.name"),
        # an exact name beats another entity's alias
        ("cart", "component:default/cart", "name", "metadata.name"),
    ],
)
def test_match_service(index: CatalogIndex, telemetry: str, expected: str, how: str, source: str) -> None:
    match = index.match_service(telemetry, namespace="default")  # checkout is also in namespace shop
    assert match is not None
    assert (str(match.entity.ref), match.how, match.source) == (expected, how, source)


def test_no_match(index: CatalogIndex) -> None:
    assert index.match_service("unknown_service") is None
    assert index.match_service("orders-db") is None  # a Resource is not a service


def test_the_namespace_hint_chooses_between_same_named_entries(index: CatalogIndex) -> None:
    match = index.match_service("checkout", namespace="default")
    assert match is not None and match.entity.namespace == "default"
    assert [str(e.ref) for e in match.others] == ["component:shop/checkout"]
    shop = index.match_service("checkout", namespace="SHOP")
    assert shop is not None and shop.entity.namespace == "shop"


@pytest.mark.parametrize("hint", [None, "elsewhere"])
def test_several_candidates_with_different_owners_and_no_usable_hint_are_ambiguous(
    index: CatalogIndex, hint: str | None
) -> None:
    # default/checkout is owned by group:default/payments, shop/checkout by group:shop/payments
    found = index.identify("checkout", namespace=hint)
    assert found.match is None
    assert [str(e.ref) for e in found.candidates] == ["component:default/checkout", "component:shop/checkout"]
    assert index.match_service("checkout", namespace=hint) is None


def test_several_candidates_agreeing_on_the_owner_give_that_owner() -> None:
    a = Entity(kind="Component", name="api", namespace="a", owner=EntityRef("group", "default", "search"))
    b = Entity(kind="Component", name="api", namespace="b", owner=EntityRef("group", "default", "search"))
    index = CatalogIndex(Catalog(entities=[b, a]))
    found = index.identify("api")
    assert found.match is not None and found.entity is a and found.match.others == (b,)
    assert found.candidates == ()


def test_match_virtual_prefers_resources(index: CatalogIndex) -> None:
    match = index.match_virtual("orders-db")
    assert match is not None and match.entity.kind == "Resource"
    alias = index.match_virtual("POSTGRES")
    assert alias is not None and alias.how == "alias" and alias.entity.name == "orders-db"
    assert index.match_virtual("cart") is not None  # falls back to Components


@pytest.mark.parametrize(
    ("telemetry", "expected"),
    [
        ("Check_Out_Svc", None),  # _ vs - only, but letters differ from any name: no
        ("checkout_svc", "checkout"),
        ("Checkout.Svc", "checkout"),
        ("search.api", "search-api"),
        ("SEARCH-API-V2", "search-api"),
        ("shop.checkout", "checkout"),  # namespace prefix
        ("payments/ledger", None),  # ledger is owned by ghosts, not payments
        ("ghosts/ledger", "ledger"),  # owner prefix
        ("elsewhere.ledger", None),
        ("checkout", None),  # a real match is never a near match
        ("cart-otel", None),
    ],
)
def test_near_match(index: CatalogIndex, telemetry: str, expected: str | None) -> None:
    found = index.near_match(telemetry)
    assert (found.name if found else None) == expected


def test_normalise_and_telemetry_names(index: CatalogIndex) -> None:
    assert normalise("A_b.C-d") == "a-b-c-d"
    names = telemetry_names(entity(index, "checkout"))
    assert names == [("ownermap.io/service-names", "checkout-svc"), ("ownermap.io/service-names", "CheckoutService")]


# -- ownership -------------------------------------------------------------------------------------


def test_owner_ok_via_member_of(index: CatalogIndex) -> None:
    owner = index.owner_of(entity(index, "checkout"))
    assert owner.ref == EntityRef("group", "default", "payments")
    assert owner.entity is not None and owner.entity.name == "payments"
    assert (owner.is_user, owner.active, owner.status) == (False, True, "ok")


def test_owner_defaults_to_the_entity_namespace(index: CatalogIndex) -> None:
    owner = index.owner_of(entity(index, "component:shop/checkout"))
    assert owner.ref == EntityRef("group", "shop", "payments")
    assert owner.status == "owner_not_found"


def test_owner_active_through_child_group(index: CatalogIndex) -> None:
    website = index.owner_of(entity(index, "website"))  # platform has no members, but sre (its child) has
    assert website.active is True and website.status == "ok"


def test_individual_owner(index: CatalogIndex) -> None:
    owner = index.owner_of(entity(index, "cart"))
    assert owner.is_user and owner.status == "ok"


def test_owner_not_found_and_unowned(index: CatalogIndex) -> None:
    assert index.owner_of(entity(index, "ledger")).status == "owner_not_found"
    assert index.owner_of(entity(index, "free-agent")).status == "unowned"
    # an owner ref naming a Component is not an owner
    assert index.owner_of(entity(index, "orders")).status == "owner_not_found"


def test_owner_inactive(index: CatalogIndex) -> None:
    owner = index.owner_of(entity(index, "lonely"))
    assert (owner.active, owner.status) == (False, "owner_inactive")


def test_group_cycles_terminate(index: CatalogIndex) -> None:
    assert index.is_active(entity(index, "group:empty-parent")) is False


def test_datadog_team_activity_is_unknown(index: CatalogIndex) -> None:
    owner = index.owner_of(entity(index, "recs"))
    assert owner.entity is not None and owner.entity.synthetic
    assert owner.active is None and owner.status == "ok"


def test_teams(index: CatalogIndex) -> None:
    teams = {t.name: t for t in index.teams()}
    assert set(teams) >= {"engineering", "payments", "platform", "sre", "search", "nobody-home", "ml"}
    assert teams["payments"].members == (EntityRef("user", "default", "alice"),)
    assert teams["payments"].parent == EntityRef("group", "default", "engineering")  # via children
    assert teams["sre"].parent == EntityRef("group", "default", "platform")
    assert EntityRef("group", "default", "sre") in teams["platform"].children  # via parent
    assert teams["engineering"].active is True
    assert teams["nobody-home"].active is False
    team = index.team("payments")
    assert team is not None and team.ref == EntityRef("group", "default", "payments")
    assert index.team("checkout") is None


def test_team_services(index: CatalogIndex) -> None:
    names = sorted(e.name for e in index.team_services("payments"))
    assert names == ["alias-thief", "checkout"]  # shop/checkout's owner is group:shop/payments
    assert [e.name for e in index.team_services("payments", kinds=("resource",))] == ["orders-db"]
    assert [e.name for e in index.team_services(EntityRef("user", "default", "alice"))] == ["cart"]
    assert index.team_services("group:") == []


def test_services_are_components_of_type_service(index: CatalogIndex) -> None:
    names = {e.name for e in index.services()}
    assert "website" not in names and {"checkout", "search-api", "recs"} <= names


def test_dependencies_and_lifecycle(index: CatalogIndex) -> None:
    checkout, cart = entity(index, "checkout"), entity(index, "cart")
    assert index.depends_on(checkout) == [
        EntityRef("component", "default", "cart"),
        EntityRef("resource", "default", "orders-db"),
    ]
    assert index.declares_dependency(checkout, cart)
    assert not index.declares_dependency(cart, checkout)
    assert index.lifecycle(cart) == "deprecated"


def test_empty_catalog() -> None:
    index = CatalogIndex(Catalog())
    assert index.match_service("x") is None and index.near_match("x") is None and index.teams() == []


def test_large_catalog_index_is_fast() -> None:
    user = EntityRef("user", "default", "u")
    entities = [
        Entity(kind="Component", name=f"svc-{i}", type="service", owner=EntityRef("group", "default", f"t{i % 50}"))
        for i in range(10_000)
    ]
    entities += [Entity(kind="Group", name=f"t{i}", type="team", members=[user]) for i in range(50)]
    index = CatalogIndex(Catalog(entities=entities))
    match = index.match_service("SVC-9999")
    assert match is not None and match.entity.name == "svc-9999"
    assert len(index.teams()) == 50
    assert len(index.team_services("t1")) == 200


@pytest.mark.parametrize(
    ("telemetry", "expected"),
    [
        ("productpage.bookinfo", "component:bookinfo/productpage"),
        ("ProductPage.BookInfo", "component:bookinfo/productpage"),
        ("checkout.shop.svc", "component:shop/checkout"),
        ("checkout.shop.svc.cluster.local", "component:shop/checkout"),
        ("reviews.anything.svc.cluster.local", "component:default/reviews"),
        ("reviews.elsewhere", None),  # no .svc and the second label is no namespace, system or owner
        ("details.svc", "component:default/details"),
    ],
)
def test_near_match_strips_dns_style_suffixes(telemetry: str, expected: str | None) -> None:
    index = CatalogIndex(Catalog(entities=[
        Entity(kind="Component", name="productpage", namespace="bookinfo"),
        Entity(kind="Component", name="checkout", namespace="shop"),
        Entity(kind="Component", name="reviews"),
        Entity(kind="Component", name="details"),
    ]))
    found = index.near_match(telemetry)
    assert (str(found.ref) if found else None) == expected
