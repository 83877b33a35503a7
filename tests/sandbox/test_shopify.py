from __future__ import annotations

from reconciler.sandbox.seed import credentials_of
from reconciler.targets import SHOPIFY_API_VERSION
from tests.sandbox.sandbox_helpers import ORDERS_QUERY, SHOP_QUERY, SHOPIFY_PATH


async def test_shop_query(sbx, merchant) -> None:
    response = await sbx.shopify(merchant, SHOP_QUERY)
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["shop"]["myshopifyDomain"] == merchant.shopify_shop
    handles = {s["handle"] for s in body["data"]["currentAppInstallation"]["accessScopes"]}
    assert handles == {"read_orders", "read_products", "read_publications"}
    cost = body["extensions"]["cost"]
    # Published cost rules: shop 1, currentAppInstallation 1, accessScopes 1; scalars 0.
    assert cost["requestedQueryCost"] == 3 and cost["actualQueryCost"] == 3
    assert cost["throttleStatus"]["maximumAvailable"] == 1000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0


async def test_orders_mirror_tiktok_orders_and_paginate(sbx, merchant) -> None:
    tiktok = {o["id"]: o for o in sbx.record(merchant)["tiktok_shop"]["orders"]}
    first = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 2})).json()
    page = first["data"]["orders"]
    assert len(page["nodes"]) == 2 and page["pageInfo"]["hasNextPage"]
    # A connection costs 2 plus, per object, the object (1) and its objects (app 1, address 1).
    assert first["extensions"]["cost"]["requestedQueryCost"] == 2 + 2 * 3
    assert first["extensions"]["cost"]["actualQueryCost"] == 2 + 2 * 3
    second = (await sbx.shopify(merchant, ORDERS_QUERY,
                                {"first": 2, "after": page["pageInfo"]["endCursor"]})).json()
    rest = second["data"]["orders"]
    assert len(rest["nodes"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    nodes = page["nodes"] + rest["nodes"]
    assert [n["createdAt"] for n in nodes] == sorted((n["createdAt"] for n in nodes), reverse=True)
    for node in nodes:
        assert node["name"] in tiktok
        assert node["sourceName"] == "pipe17" and node["app"] == {"name": "Pipe17"}
        assert node["tags"] == ["TikTok"]
        assert node["shippingAddress"]["zip"] == tiktok[node["name"]]["recipient_address"]["postal_code"]


async def test_orders_search_by_name_and_date(sbx, merchant) -> None:
    name = sbx.record(merchant)["tiktok_shop"]["orders"][1]["id"]
    found = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 5, "query": f"name:{name}"})).json()
    assert [n["name"] for n in found["data"]["orders"]["nodes"]] == [name]
    recent = (await sbx.shopify(merchant, ORDERS_QUERY,
                                {"first": 5, "query": "created_at:>=2000-01-01 tag:TikTok"})).json()
    assert len(recent["data"]["orders"]["nodes"]) == 3
    future = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 5, "query": "created_at:>=2999-01-01"})).json()
    assert future["data"]["orders"]["nodes"] == []
    odd = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 5, "query": "colour:red"})).json()
    assert odd["extensions"]["search"][0]["warnings"][0]["field"] == "colour"


async def test_unknown_field_is_a_graphql_error(sbx, merchant) -> None:
    body = (await sbx.shopify(merchant, "{ shop { id installedApps } }")).json()
    assert "installedApps" in body["errors"][0]["message"]
    assert "data" not in body


async def test_too_many_per_page(sbx, merchant) -> None:
    body = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 251})).json()
    assert "between 0 and 250" in body["errors"][0]["message"]


async def test_mutation_rejected_and_counted_as_write(sbx, merchant) -> None:
    query = 'mutation { metafieldsSet(metafields: []) { userErrors { message } } }'
    body = (await sbx.shopify(merchant, query)).json()
    assert body["errors"]
    assert sbx.emulator.stats.to_json()["services"]["shopify"]["writes"] == 1


async def test_bad_token_and_unknown_shop(sbx, merchant, other) -> None:
    response = await sbx.shopify(merchant, SHOP_QUERY, token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {"errors": "[API] Invalid API key or access token "
                                         "(unrecognized login or wrong password)"}
    cross = await sbx.shopify(merchant, SHOP_QUERY, token=credentials_of(other)["shopify_access_token"])
    assert cross.status_code == 401
    missing = await sbx.client.post(SHOPIFY_PATH.format(shop="nobody.myshopify.com"),
                                    json={"query": SHOP_QUERY})
    assert missing.status_code == 404


async def test_cost_bucket_throttles(sbx, merchant) -> None:
    sbx.emulator.limits.shopify_bucket_size = 60
    sbx.emulator.limits.shopify_restore_rate = 1
    first = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 19})).json()
    assert "errors" not in first
    # 2 + 19 * 3 = 59 requested; 3 orders returned cost 2 + 3 * 3 = 11, the rest is refunded:
    # 49 left, fewer than the 59 the same query asks for again.
    assert first["extensions"]["cost"]["actualQueryCost"] == 11
    second = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 19})).json()
    assert second["errors"][0]["extensions"]["code"] == "THROTTLED"
    status = second["extensions"]["cost"]["throttleStatus"]
    assert status["currentlyAvailable"] == 49 and status["maximumAvailable"] == 60.0
    too_big = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 20})).json()
    assert too_big["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


async def test_throttle_fault_really_drains_the_bucket(sbx, merchant) -> None:
    sbx.emulator.faults.configure({"throttle": True, "throttle_rate": 1.0})
    body = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 50})).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = body["extensions"]["cost"]
    wait = (cost["requestedQueryCost"] - cost["throttleStatus"]["currentlyAvailable"]) / 100
    assert 0 < wait <= 0.5


async def test_repeated_queries_answer_as_the_first_time(sbx, merchant) -> None:
    # Parsed and validated documents are reused for a query text already seen:
    # a repeat answers exactly like the first request, errors included.
    queries = [SHOP_QUERY, "{ shop { id installedApps } }", "{ shop { id ",
               "query A { shop { id } } query B { shop { id } }"]
    for query in queries:
        first = (await sbx.shopify(merchant, query)).json()
        again = (await sbx.shopify(merchant, query)).json()
        first.pop("extensions"), again.pop("extensions")  # the cost bucket refills between the two
        assert first == again, query


async def test_each_mutation_attempt_is_counted(sbx, merchant) -> None:
    query = 'mutation { metafieldsSet(metafields: []) { userErrors { message } } }'
    for _ in range(2):
        assert (await sbx.shopify(merchant, query)).json()["errors"]
    assert sbx.emulator.stats.to_json()["services"]["shopify"]["writes"] == 2


async def test_schema_is_shopifys_own(sbx, merchant) -> None:
    # Shopify's OrderSortKeys has no NAME (the hand-written schema had one) and
    # Shop.currencyCode is the CurrencyCode enum, not a String.
    bad = (await sbx.shopify(merchant, "{ orders(first: 1, sortKey: NAME) { nodes { id } } }")).json()
    assert "NAME" in bad["errors"][0]["message"] and "data" not in bad
    good = (await sbx.shopify(merchant, "{ orders(first: 1, sortKey: ORDER_NUMBER) { nodes { id } } "
                                        "shop { currencyCode } }")).json()
    assert "errors" not in good and good["data"]["shop"]["currencyCode"] == "USD"
    wrong = (await sbx.shopify(merchant, '{ publications(first: 1, catalogType: "APP") { nodes { id } } }'))
    assert "CatalogType" in wrong.json()["errors"][0]["message"]


async def test_publications_list_sales_channels_and_cost_per_rules(make_sandbox, merchant) -> None:
    query = "{ publications(first: 25, catalogType: APP) { nodes { id catalog { title } } } }"
    plain = make_sandbox([merchant])
    body = (await plain.shopify(merchant, query)).json()
    assert [n["catalog"]["title"] for n in body["data"]["publications"]["nodes"]] == ["Online Store"]
    # Requested: 2 + 25 * (publication 1 + catalog 1); actual: 2 + 1 * 2.
    assert body["extensions"]["cost"]["requestedQueryCost"] == 52
    assert body["extensions"]["cost"]["actualQueryCost"] == 4
    tiktok = make_sandbox([merchant], {merchant.slug: {"tiktok-connector-on"}})
    nodes = (await tiktok.shopify(merchant, query)).json()["data"]["publications"]["nodes"]
    assert [n["catalog"]["title"] for n in nodes] == ["Online Store", "TikTok"]


async def test_mutation_costs_ten(sbx, merchant) -> None:
    query = 'mutation { metafieldsSet(metafields: []) { userErrors { message } } }'
    body = (await sbx.shopify(merchant, query)).json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    assert "no mutation" in body["errors"][0]["message"]


async def test_every_answer_names_its_version_and_a_current_one_is_not_deprecated(sbx, merchant) -> None:
    response = await sbx.shopify(merchant, SHOP_QUERY)
    assert response.headers["x-shopify-api-version"] == SHOPIFY_API_VERSION
    assert "x-shopify-api-deprecated-reason" not in response.headers


async def test_an_unsupported_version_falls_forward_and_says_so(sbx, merchant) -> None:
    token = credentials_of(merchant)["shopify_access_token"]
    old = await sbx.client.post(f"/shopify/{merchant.shopify_shop}/admin/api/2025-07/graphql.json",
                                json={"query": SHOP_QUERY}, headers={"X-Shopify-Access-Token": token})
    assert old.status_code == 200 and old.json()["data"]["shop"]["myshopifyDomain"]
    served = old.headers["x-shopify-api-version"]
    assert served > "2025-07"
    assert "shopify.dev/api/usage/versioning" in old.headers["x-shopify-api-deprecated-reason"]


async def test_deprecated_fields_are_listed_in_the_header(sbx, merchant) -> None:
    response = await sbx.shopify(merchant, "{ shop { id publicationCount } }")
    assert response.headers["x-shopify-api-deprecated-reason"] == "Shop.publicationCount"
