"""The shape comparison itself: it must catch what a drifted answer would look like."""

from __future__ import annotations

from tests.contract.records import RB_API, SKIT, body, missing, shape_errors

SHOPS = body(RB_API / "authorization_202309_shops.json")


def test_the_record_matches_itself_and_its_other_copy() -> None:
    assert shape_errors(SHOPS, SHOPS) == []
    assert shape_errors(body(SKIT / "AuthorizationGetShopsResponse.json"), SHOPS) == []


def test_an_invented_key_a_changed_type_and_a_missing_field_are_caught() -> None:
    drifted = {**SHOPS, "data": {"shops": [{**SHOPS["data"]["shops"][0], "id": 7000714532876273420,
                                            "shop_cipher": "x"}]}}
    assert shape_errors(drifted, SHOPS) == [
        "$.data.shops[0].id: number where the record has string",
        "$.data.shops[0].shop_cipher: not in the record",
    ]
    assert missing({"data": {"shops": [{"id": "1"}]}}, ["data.shops[].cipher"]) == ["data.shops[].cipher"]


def test_lists_may_hold_more_items_than_the_example() -> None:
    shop = SHOPS["data"]["shops"][0]
    longer = {**SHOPS, "data": {"shops": [shop, dict(shop), dict(shop)]}}
    assert shape_errors(longer, SHOPS) == []
    assert shape_errors({**longer, "data": {"shops": [shop, {**shop, "region": None}]}}, SHOPS) == [
        "$.data.shops[1].region: null where the record has string"]
