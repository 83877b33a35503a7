"""Every rule id the configuration loader can report, with its default fix hint.

Ids are stable: users grep for them and CI annotations link to them. A new
check gets a new id; an id is never reused for a different check. Each id is
documented in docs/rules.md (a test keeps the two in step).
"""

from __future__ import annotations

from typing import NamedTuple

from reconciler.declarations import LOOP_INSTRUCTIONS_MAX


class RuleInfo(NamedTuple):
    title: str
    hint: str


RULES: dict[str, RuleInfo] = {
    # Reading the file
    "F001": RuleInfo("file cannot be read", "check the path and its permissions"),
    "F002": RuleInfo("unexpected error while loading the file", "report this as a bug, with the file"),
    "F003": RuleInfo("not a regular file", "merchant files and profiles are plain YAML files, not devices, FIFOs or directories"),
    "F004": RuleInfo("symbolic link leads out of the merchants directory", "copy the file into the merchants directory instead of linking to it"),
    "F005": RuleInfo("file name holds a control character", "rename the file: lower-case letters, digits and dashes, e.g. acme-apparel.yaml"),
    # YAML
    "Y001": RuleInfo("YAML syntax error", "fix the YAML syntax at this position"),
    "Y002": RuleInfo("duplicate key", "keep only one of the two entries"),
    "Y003": RuleInfo("tab in indentation", "indent with spaces only"),
    "Y004": RuleInfo("unsupported YAML tag", "remove the tag; merchant files hold plain values only"),
    "Y005": RuleInfo("alias expansion too large or recursive", "write the values out instead of using anchors and aliases"),
    "Y006": RuleInfo("nesting too deep", "merchant files are at most a few levels deep; check the indentation"),
    "Y007": RuleInfo("file too large", "a merchant file is a few kilobytes; split or trim it"),
    "Y008": RuleInfo("not a UTF-8 text file", "save the file as UTF-8 text"),
    "Y009": RuleInfo("empty file", "declare the merchant, as merchants/acme-apparel.yaml does, or delete the file"),
    "Y010": RuleInfo("top level is not a mapping", "the file must be a mapping of keys such as name:, shopify:, tiktok_shop:"),
    "Y011": RuleInfo("mapping key is not a string", "quote the key"),
    "Y012": RuleInfo("YAML merge key (<<) is not supported", "share settings through an extends: profile instead"),
    # Schema (schemas/merchant.schema.json)
    "S001": RuleInfo("unknown key", "remove the key or fix its spelling"),
    "S002": RuleInfo("missing required key", "add the key here or in the profile this file extends"),
    "S003": RuleInfo("wrong type", "use a value of the expected type"),
    "S004": RuleInfo("value not allowed", "use one of the allowed values or forms"),
    "S005": RuleInfo("value out of bounds", "shorten or lengthen the value as the schema requires"),
    # Secrets
    "C001": RuleInfo("literal credential", "use env:VAR_NAME or sops:PATH#KEY and keep the value out of the merchant file"),
    "C002": RuleInfo("malformed secret reference", "write env: and an upper-case variable name (env:ACME_LOOP_KEY), or sops: a file under the merchants directory, # and a dotted key (sops:secrets/acme.sops.yaml#loop.api_key)"),
    "C003": RuleInfo("secret file not found", "create it with `reconciler secrets set SLUG KEY` or fix the path (relative to the merchants directory)"),
    "C004": RuleInfo("secret file is not SOPS-encrypted", "encrypt it in place with `sops --disable-version-check encrypt -i FILE`, or recreate it with `reconciler secrets set`"),
    "C005": RuleInfo("key not in secret file", "add it with `reconciler secrets set SLUG KEY` or fix the dotted key after #"),
    # Profiles
    "P001": RuleInfo("profile not found", "create merchants/profiles/<name>.yaml or fix the name"),
    "P002": RuleInfo("profiles extend each other in a cycle", "remove one extends: from the cycle"),
    "P003": RuleInfo("extended profile has problems", "fix the problems reported in the profile file"),
    "P004": RuleInfo("invalid profile name", "use a profile file name: lower-case letters, digits and dashes"),
    "P005": RuleInfo("profile chain too deep", "let profiles extend at most a few others; merge some of them"),
    # Templates
    "T001": RuleInfo("template syntax error", "fix the Jinja2 syntax; TikTok placeholders like [TT_ORDER_NUM] need no braces"),
    "T002": RuleInfo("undefined name in template", "use a value of this merchant, e.g. {{ loop.portal_domain }} or {{ name }}"),
    "T003": RuleInfo("template does what merchant templates may not", "templates only substitute the merchant's own values, e.g. {{ loop.portal_domain }}, with simple filters such as | upper"),
    "T004": RuleInfo("template cannot be rendered", "simplify the template to plain substitutions"),
    # Domain rules: order, fulfillment and refund flows through Pipe17
    "R001": RuleInfo("TikTok Shop orders must be pulled", "set pipe17.integrations.tiktok_shop.flows.orders: pull"),
    "R002": RuleInfo("Shopify orders must be pushed", "set pipe17.integrations.shopify.flows.orders: push"),
    "R003": RuleInfo("Shopify order sync mode must be fulfillment", "set pipe17.integrations.shopify.order_sync_mode: fulfillment"),
    "R004": RuleInfo("Shopify fulfillments must be pulled", "set pipe17.integrations.shopify.flows.fulfillments: pull"),
    "R005": RuleInfo("TikTok Shop fulfillments must be pushed", "set pipe17.integrations.tiktok_shop.flows.fulfillments: push"),
    "R006": RuleInfo("Loop refunds must be pulled", "set pipe17.integrations.loop.flows.refunds: pull"),
    "R007": RuleInfo("Shopify refunds must be pulled", "set pipe17.integrations.shopify.flows.refunds: pull"),
    "R008": RuleInfo("TikTok Shop refunds must be pushed", "set pipe17.integrations.tiktok_shop.flows.refunds: push"),
    "R009": RuleInfo("push refunds to TikTok must be on", "set pipe17.integrations.tiktok_shop.push_refunds_to_tiktok: true"),
    # Return URL
    "R010": RuleInfo("return URL must use https", "start the return URL with https://"),
    "R011": RuleInfo("return URL host must be the Loop portal domain", "use https://{{ loop.portal_domain }}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]"),
    "R012": RuleInfo("return URL must carry order=[TT_ORDER_NUM]", "add order=[TT_ORDER_NUM] to the query"),
    "R013": RuleInfo("return URL must carry zip=[TTS_ZIP_CODE]", "add zip=[TTS_ZIP_CODE] to the query"),
    "R014": RuleInfo("return URL must not ask for an email", "TikTok gives no buyer email; remove the email parameter"),
    "R015": RuleInfo("return URL must not contain user information", "remove the user@ part before the host"),
    "R016": RuleInfo("return URL is not a plain URL", "remove whitespace, backslashes, the port and any #fragment"),
    # Loop portal
    "R017": RuleInfo("Loop order lookup must be by zip code", "set loop.order_lookup: zip; TikTok gives no buyer email"),
    "R018": RuleInfo("portal instructions must mention the TikTok order number", "say that TikTok buyers enter their TikTok Shop order number"),
    "R019": RuleInfo("portal instructions must mention the zip code", "say that TikTok buyers enter the zip code of their shipping address, not their email"),
    "R035": RuleInfo("rendered portal instructions are too long", f"shorten loop.instructions (or the values it renders) to at most {LOOP_INSTRUCTIONS_MAX:,} characters"),
    # TikTok Shop
    "R020": RuleInfo("return portal partner must be Loop (Pipe17)", "set tiktok_shop.return_proxy.partner: loop_pipe17"),
    "R021": RuleInfo("TikTok's own Shopify connector must not be used", "set tiktok_shop.shopify_connector: disabled; Pipe17 writes TikTok orders into Shopify"),
    # Identity
    "R022": RuleInfo("slug must equal the file name", "remove slug: or rename the file"),
    "R023": RuleInfo("file name is not a valid merchant slug", "rename the file to lower-case letters, digits and dashes, e.g. acme-apparel.yaml"),
    "R024": RuleInfo("Loop portal domain must be a bare host name", "write only the host, e.g. returns.acme.com, without https://, path or port"),
    "R025": RuleInfo("Loop portal domain must not be a myshopify.com domain", "use the Loop portal's own domain"),
    "R026": RuleInfo("H5 Redirect approval needs evidence", "record who approved it, where and when, e.g. 'AM Jane Doe, ticket TTS-4821, 2026-10-02'"),
    "R027": RuleInfo("Pipe17 integration missing", "declare pipe17.integrations.tiktok_shop, .shopify and .loop"),
    "R028": RuleInfo("one variable used for two different credentials", "give each credential its own environment variable"),
    "R029": RuleInfo("Loop portal domain must not use punycode (xn--) labels", "write the portal's ASCII host name; an xn-- label can spell a look-alike of another merchant's domain"),
    # Across merchant files
    "R030": RuleInfo("Shopify shop claimed by two merchant files", "keep the shop in one merchant file"),
    "R031": RuleInfo("TikTok shop claimed by two merchant files", "keep the TikTok shop id in one merchant file"),
    "R032": RuleInfo("Loop portal domain claimed by two merchant files", "each merchant has its own Loop portal domain"),
    "R033": RuleInfo("per-merchant credential shared by two merchant files", "give each merchant its own variable; only the TikTok app key and secret are shared"),
    "R034": RuleInfo("two merchant files with one slug", "keep one file per merchant, not both .yaml and .yml"),
}


def hint(rule: str) -> str:
    return RULES[rule].hint
