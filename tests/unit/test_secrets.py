from __future__ import annotations

import pytest

from reconciler.model import SecretRef
from reconciler.secrets import (
    MissingSecretError,
    Redactor,
    UnsafeSecretError,
    resolve,
    sandbox_credential,
)


def test_every_occurrence_is_redacted_even_when_secrets_overlap() -> None:
    redactor = Redactor()
    redactor.add("abcdefgh")
    assert redactor.redact("abcdefgh") == "***"  # builds a first matcher
    redactor.add("abcdefghijkl")  # added later, contains the first
    redactor.add("xabcdefg")  # starts before the first
    assert redactor.redact("abcdefghijkl, xabcdefgh and abcdefg") == "***, *** and abcdefg"


def test_thousands_of_secrets_added_while_redacting_are_all_found() -> None:
    redactor = Redactor()
    values = [f"CANARY-{i:05d}-secret" for i in range(3000)]
    for i, value in enumerate(values):
        redactor.add(value)
        if i % 7 == 0:
            assert redactor.redact(f"token={value}&x=1") == "token=***&x=1"
    text = " ".join(values[::13])
    assert "CANARY" not in redactor.redact(text)


def test_a_long_text_is_redacted_as_fully_as_a_short_one() -> None:
    redactor = Redactor()
    values = [f"CANARY-{i:05d}-secret" for i in range(300)]
    for i, value in enumerate(values):
        redactor.add(value)
        if i % 5 == 0:
            redactor.redact(value)  # matchers built piecemeal, as during a run
    redactor.add("CANARY-00007-secret-and-more")  # overlaps one added earlier
    filler = "x" * 70_000  # past the length where one merged matcher scans the text
    text = filler + " ".join([*values, "CANARY-00007-secret-and-more"]) + filler
    redacted = redactor.redact(text)
    assert "CANARY" not in redacted
    assert redacted.count("***") == len(values) + 1
    assert redactor.redact("short CANARY-00299-secret") == "short ***"


def test_a_credential_too_short_to_hide_is_refused_naming_its_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TEST_SHORT", "pull")
    with pytest.raises(UnsafeSecretError) as caught:
        resolve(SecretRef("RECONCILER_TEST_SHORT"), sandbox=True)
    assert "env:RECONCILER_TEST_SHORT" in str(caught.value) and "pull" not in str(caught.value)
    monkeypatch.setenv("RECONCILER_TEST_SHORT", "CANARY-8")  # 8 characters: long enough
    assert resolve(SecretRef("RECONCILER_TEST_SHORT"), sandbox=False) == "CANARY-8"


def test_structured_values_are_redacted_whole_keys_kept() -> None:
    redactor = Redactor()
    redactor.add("destructive-1")
    document = {"destructive-1": True, "items": [{"after": "say destructive-1 now", "n": 3}, "ok"]}
    assert redactor.redact_values(document) == {"destructive-1": True, "items": [{"after": "***", "n": 3}, "ok"]}
    assert document["items"][0]["after"] == "say destructive-1 now"  # the input is not changed


def test_unset_variable_resolves_to_a_sandbox_credential_only_in_the_sandbox(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_TEST_UNSET", raising=False)
    ref = SecretRef("RECONCILER_TEST_UNSET")
    assert resolve(ref, sandbox=True) == sandbox_credential(ref)
    with pytest.raises(MissingSecretError) as caught:
        resolve(ref, sandbox=False)
    assert "RECONCILER_TEST_UNSET" in str(caught.value)


def test_a_set_variable_is_used_and_registered_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.secrets import redactor

    monkeypatch.setenv("RECONCILER_TEST_SET", "CANARY-value-31337")
    assert resolve(SecretRef("RECONCILER_TEST_SET"), sandbox=False) == "CANARY-value-31337"
    assert redactor.redact("key CANARY-value-31337") == "key ***"


def test_a_copy_of_the_environment_is_read_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TEST_COPIED", "CANARY-copied-value")
    environ = {"RECONCILER_TEST_COPIED": "CANARY-copied-value"}
    monkeypatch.setenv("RECONCILER_TEST_COPIED", "CANARY-changed-after")
    ref = SecretRef("RECONCILER_TEST_COPIED")
    assert resolve(ref, sandbox=False, environ=environ) == "CANARY-copied-value"
    with pytest.raises(MissingSecretError):
        resolve(SecretRef("RECONCILER_TEST_NOT_COPIED"), sandbox=False, environ=environ)
    assert resolve(ref, sandbox=False) == "CANARY-changed-after"
