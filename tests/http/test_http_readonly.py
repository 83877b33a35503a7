"""Read-only clients refuse writes before anything reaches the transport."""

import json

import httpx
import pytest

from reconciler.http.channel import Channel
from reconciler.http.errors import ReadOnlyViolation
from reconciler.http.readonly import is_query_only
from reconciler.targets import SHOPIFY_API_VERSION

SHOPIFY = f"https://s.test/admin/api/{SHOPIFY_API_VERSION}/graphql.json"
MUTATION = 'mutation { metafieldsSet(metafields: []) { userErrors { message } } }'


@pytest.mark.parametrize("service,method,path,body", [
    ("tiktok_shop", "PUT", "/return_refund/202309/return_proxy", {"partner": "LOOP_PIPE17"}),
    ("tiktok_shop", "POST", "/return_refund/202309/returns/1/approve", {}),
    ("pipe17", "POST", "/integrations", {"connectorName": "Shopify"}),
    ("pipe17", "PUT", "/integrations/int_1", {"version": 1, "settings": {}}),
    ("pipe17", "DELETE", "/integrations/int_1", None),
    ("loop", "PATCH", "/portal/settings", {"order_lookup": "zip"}),
    ("loop", "POST", "/webhooks", {"topic": "return"}),
])
async def test_writes_are_refused_with_zero_requests(recorder, make_client, service, method, path, body):
    client = make_client(service, read_only=True)
    with pytest.raises(ReadOnlyViolation, match=f"{service} \\(merchant acme\\): refused {method}"):
        await client.request(method, path, json=body)
    assert recorder.seen == []


@pytest.mark.parametrize("document", [
    MUTATION,
    "query A { shop { id } } mutation B { tagsAdd(id: \"1\", tags: []) { node { id } } }",
    "subscription { x }",
    "not graphql {",
])
async def test_graphql_mutations_are_refused(recorder, make_client, document):
    client = make_client("shopify", SHOPIFY, read_only=True)
    with pytest.raises(ReadOnlyViolation):
        await client.graphql(document)
    assert recorder.seen == []


@pytest.mark.parametrize("service,path", [
    ("tiktok_shop", "/order/202309/orders/search"),
    ("tiktok_shop", "/return_refund/202309/returns/search"),
    ("loop", "/order/link"),
])
async def test_allow_listed_read_posts_pass(recorder, make_client, service, path):
    await make_client(service, read_only=True).request("POST", path, json={"x": 1})
    assert len(recorder.seen) == 1


async def test_graphql_queries_pass(recorder, make_client):
    client = make_client("shopify", SHOPIFY, read_only=True)
    await client.graphql("query ReconcilerShop { shop { id } }")
    await client.graphql("{ shop { id } }")
    assert len(recorder.seen) == 2


async def test_writable_client_sends_writes(recorder, make_client):
    await make_client("loop").request("PATCH", "/portal/settings", json={"order_lookup": "zip"})
    assert len(recorder.seen) == 1


async def test_the_channel_guards_what_bypasses_the_client(recorder):
    """Code that bypasses ServiceClient still cannot write through a read-only pool channel."""
    channel = Channel("shopify", recorder.transport, read_only=True)
    mutation = json.dumps({"query": MUTATION}).encode()
    with pytest.raises(ReadOnlyViolation):
        await channel.send(channel.build("POST", httpx.URL(SHOPIFY), mutation, 5), httpx.Auth())
    with pytest.raises(ReadOnlyViolation):
        await channel.send(channel.build("GET", httpx.URL(SHOPIFY, params={"query": MUTATION}), b"", 5),
                           httpx.Auth())
    query = json.dumps({"query": "{ shop { id } }"}).encode()
    await channel.send(channel.build("POST", httpx.URL(SHOPIFY), query, 5), httpx.Auth())
    assert len(recorder.seen) == 1


def test_is_query_only():
    assert is_query_only("query { a } fragment F on Shop { id }")
    assert not is_query_only("fragment F on Shop { id }")
    assert not is_query_only(MUTATION)


async def test_channel_guards_after_auth_whatever_the_caller(recorder):
    """A read-only pool channel refuses a write even from code that bypasses ServiceClient."""
    from reconciler.http.channel import Channel

    class Mutating(httpx.Auth):  # an auth flow that would turn a read into a write
        def auth_flow(self, request):
            request.method = "POST"
            yield request

    http = Channel("loop", recorder.transport, read_only=True)
    with pytest.raises(ReadOnlyViolation):
        await http.send(http.build("DELETE", httpx.URL("https://l.test/webhooks/1"), b"", 1.0), httpx.Auth())
    with pytest.raises(ReadOnlyViolation):
        await http.send(http.build("GET", httpx.URL("https://l.test/webhooks"), b"", 1.0), Mutating())
    await http.send(http.build("GET", httpx.URL("https://l.test/webhooks"), b"", 1.0), httpx.Auth())
    assert len(recorder.seen) == 1


def test_every_registered_read_query_parses_as_query_only() -> None:
    """The provider documents trusted by exact text really are queries (checked with the parser)."""
    from graphql import OperationDefinitionNode, OperationType, parse

    import reconciler.providers.shopify  # noqa: F401  (registers its documents)
    from reconciler.http.readonly import known_read_queries

    documents = known_read_queries()
    assert documents
    for document in documents:
        operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
        assert operations and all(op.operation is OperationType.QUERY for op in operations)


def test_a_registered_text_with_a_mutation_appended_is_parsed_and_refused() -> None:
    from reconciler.http.readonly import known_read_queries

    trusted = next(iter(known_read_queries()))
    assert is_query_only(trusted)
    assert not is_query_only(trusted + "\n" + MUTATION)
