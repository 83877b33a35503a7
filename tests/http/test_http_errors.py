from reconciler.http.errors import AuthError, ServerError, scrub


def test_scrub_strips_query_credentials_and_signatures():
    text = scrub(
        "GET /x?app_key=abc123&sign=" + "a" * 64 + "&access_token=tok&shop_cipher=ROW_1 sig " + "b" * 64
    )
    assert "abc123" not in text and "tok&" not in text and "a" * 64 not in text and "b" * 64 not in text
    assert "shop_cipher=ROW_1" in text


def test_message_names_service_and_merchant():
    error = AuthError("loop", "GET /portal/settings failed: HTTP 401", "acme")
    assert str(error).startswith("loop (merchant acme): GET /portal/settings failed")


def test_exhausted_error_says_attempts():
    error = ServerError("pipe17", "GET /integrations failed: HTTP 503").exhausted(5, 3.21)
    assert "gave up after 5 attempts in 3.2s" in str(error)
    assert error.attempts == 5
