"""The in-process path refuses what it must, and the sops binary then decides in its own words.

Files are written by the real sops to age keys made here, then changed the
way an attacker or an accident would change them. For each, the in-process
path declines, and resolving the file reports exactly the binary's error,
naming the file.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from reconciler import sops, sopsage
from reconciler.sops import SecretFileError
from tests.sopsfiles import AgeKey, age_key, encrypt, sops_env

KEY = age_key()
DOCUMENT = {"pipe17": {"api_key": "p17-key-0123456789"}, "loop": {"api_key": "loop-key-abcdefgh"},
            "list": ["first-item", "second-item"]}


@pytest.fixture(autouse=True)
def nothing_cached() -> Iterator[None]:
    sops.files.clear()
    sops.forget_parsed()
    yield
    sops.files.clear()
    sops.forget_parsed()


@pytest.fixture
def sealed(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "acme.sops.yaml"
    encrypt(path, DOCUMENT, KEY.public)
    return path


@pytest.fixture
def binary_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every sops process this test's code starts."""
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(args, *rest, **kwargs):
        if args and args[0] == sops.binary():
            calls.append(list(args))
        return real(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting)
    return calls


def edit(path: Path, change: Callable[[str], str]) -> None:
    text = path.read_text(encoding="utf-8")
    changed = change(text)
    assert changed != text
    path.write_text(changed, encoding="utf-8")


def enc_of(text: str, key: str) -> str:
    found = re.search(rf"^    {key}: (ENC\[[^\]]+\])$", text, re.M)
    assert found, key
    return found.group(1)


def flip_data(text: str) -> str:
    value = enc_of(text, "api_key")
    data = value.split("data:")[1][:4]
    other = data[:3] + ("A" if data[3] != "A" else "B")
    return text.replace(value, value.replace("data:" + data, "data:" + other, 1), 1)


def flip_mac(text: str) -> str:
    found = re.search(r"mac: ENC\[AES256_GCM,data:(....)", text)
    assert found
    other = found.group(1)[:3] + ("A" if found.group(1)[3] != "A" else "B")
    return text.replace(found.group(0), found.group(0)[:-4] + other, 1)


def swap_values(text: str) -> str:
    """The two api_key ciphertexts exchanged: each is valid, but under the other's path."""
    pipe17, loop = re.findall(r"^    api_key: (ENC\[[^\]]+\])$", text, re.M)
    return text.replace(pipe17, "@@").replace(loop, pipe17).replace("@@", loop)


def swap_list_items(text: str) -> str:
    """Two list items exchanged: the AAD is the same, only the MAC notices the order."""
    first, second = re.findall(r"^    - (ENC\[[^\]]+\])$", text, re.M)
    return text.replace(first, "@@").replace(second, first).replace("@@", second)


def bump_lastmodified(text: str) -> str:
    return re.sub(r'lastmodified: "(\d{4})', lambda m: f'lastmodified: "{int(m.group(1)) + 1}',
                  text, count=1)


@pytest.mark.parametrize("change", [flip_data, flip_mac, swap_values, swap_list_items,
                                    bump_lastmodified])
def test_a_changed_file_is_refused_and_the_binary_reports_it(
        sealed: Path, change: Callable[[str], str], binary_calls: list[list[str]]) -> None:
    edit(sealed, change)
    environ = sops_env(**KEY.env)
    with pytest.raises(sopsage.Declined):
        sops.in_process(sealed, environ)
    with pytest.raises(SecretFileError) as binary:
        sops.decrypt_with_binary(sealed, environ, "secrets/acme.sops.yaml")
    binary_calls.clear()
    with pytest.raises(SecretFileError) as resolved:
        sops.files.document(sealed, environ, "secrets/acme.sops.yaml")
    assert str(resolved.value) == str(binary.value)
    assert str(resolved.value).startswith("secrets/acme.sops.yaml: ")
    assert len(binary_calls) == 1  # the binary had the last word
    assert "p17-key" not in str(resolved.value) and "loop-key" not in str(resolved.value)


def test_a_file_for_another_key_is_refused_with_the_binarys_message(
        sealed: Path, binary_calls: list[list[str]]) -> None:
    environ = sops_env(**age_key().env)
    with pytest.raises(sopsage.Declined, match="no identity"):
        sops.in_process(sealed, environ)
    with pytest.raises(SecretFileError, match="no available key can decrypt it"):
        sops.files.document(sealed, environ, "secrets/acme.sops.yaml")
    assert len(binary_calls) == 1


def with_metadata(path: Path, **extra: object) -> None:
    stored = yaml.safe_load(path.read_text(encoding="utf-8"))
    stored["sops"].update(extra)
    path.write_text(yaml.safe_dump(stored, sort_keys=False), encoding="utf-8")


FAKE_PGP = [{"created_at": "2026-01-01T00:00:00Z", "enc": "-----BEGIN PGP MESSAGE-----\n...",
             "fp": "0123456789ABCDEF0123456789ABCDEF01234567"}]


@pytest.mark.parametrize("extra", [
    {"pgp": FAKE_PGP},  # another key group beside age
    {"vault_kms": [{"key": "x"}]},  # a key group this code does not know
    {"encrypted_regex": "^api_key$"},  # an option it does not implement
    {"shamir_threshold": 2},
    {"version": "4.0.0"},
])
def test_unhandled_metadata_goes_to_the_binary(sealed: Path, extra: dict[str, object],
                                               binary_calls: list[list[str]]) -> None:
    with_metadata(sealed, **extra)
    environ = sops_env(**KEY.env)
    with pytest.raises(sopsage.Declined, match="metadata|not a sops 3"):
        sops.in_process(sealed, environ)
    try:
        answer = sops.files.document(sealed, environ, "secrets/acme.sops.yaml")
    except SecretFileError:
        answer = None  # the binary may reject what it does not know either: its call
    assert len(binary_calls) == 1
    if answer is not None:
        assert answer == DOCUMENT


def test_a_pgp_only_file_goes_to_the_binary(sealed: Path, binary_calls: list[list[str]]) -> None:
    stored = yaml.safe_load(sealed.read_text(encoding="utf-8"))
    del stored["sops"]["age"]
    stored["sops"]["pgp"] = FAKE_PGP
    sealed.write_text(yaml.safe_dump(stored, sort_keys=False), encoding="utf-8")
    environ = sops_env(**KEY.env)
    with pytest.raises(sopsage.Declined):
        sops.in_process(sealed, environ)
    with pytest.raises(SecretFileError):  # no gpg key here: the binary's verdict
        sops.files.document(sealed, environ, "secrets/acme.sops.yaml")
    assert len(binary_calls) == 1


@pytest.mark.parametrize("variable", ["SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_CMD"])
def test_a_key_command_goes_to_the_binary(sealed: Path, variable: str) -> None:
    with pytest.raises(sopsage.Declined, match="key command"):
        sops.in_process(sealed, sops_env(**KEY.env, **{variable: "true"}))


def test_binary_mode_sends_every_file_to_the_binary(sealed: Path,
                                                    binary_calls: list[list[str]]) -> None:
    environ = sops_env(**KEY.env, RECONCILER_SOPS_DECRYPT="binary")
    assert sops.files.document(sealed, environ, "secrets/acme.sops.yaml") == DOCUMENT
    assert len(binary_calls) == 1


def test_an_unknown_mode_is_a_clear_error(sealed: Path, binary_calls: list[list[str]]) -> None:
    environ = sops_env(**KEY.env, RECONCILER_SOPS_DECRYPT="fastest")
    with pytest.raises(SecretFileError, match="RECONCILER_SOPS_DECRYPT='fastest' is not one of "
                                              "auto, binary"):
        sops.files.document(sealed, environ, "secrets/acme.sops.yaml")
    assert binary_calls == []


def key_file(path: Path, key: AgeKey) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# created: today\n# public key: {key.public}\n{key.secret}\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "XDG_CONFIG_HOME",
                                   "HOME"])
def test_identities_come_from_where_sops_looks(tmp_path: Path, sealed: Path, where: str,
                                               binary_calls: list[list[str]]) -> None:
    other = age_key()  # a key that opens nothing, beside the right one
    if where == "SOPS_AGE_KEY":
        extra = {"SOPS_AGE_KEY": f"{other.secret}\n{KEY.secret}"}
    elif where == "SOPS_AGE_KEY_FILE":
        extra = {"SOPS_AGE_KEY_FILE": str(key_file(tmp_path / "k.txt", KEY))}
    elif where == "XDG_CONFIG_HOME":
        config = tmp_path / "config"
        key_file(config / "sops" / "age" / "keys.txt", KEY)
        extra = {"XDG_CONFIG_HOME": str(config), "SOPS_AGE_KEY": other.secret}
    else:
        home = tmp_path / "home"
        key_file(home / ".config" / "sops" / "age" / "keys.txt", KEY)
        extra = {"HOME": str(home), "XDG_CONFIG_HOME": ""}
    environ = sops_env(**extra)
    assert sops.in_process(sealed, environ) == DOCUMENT
    assert sops.files.document(sealed, environ, "secrets/acme.sops.yaml") == DOCUMENT
    assert binary_calls == []  # all in process


def test_the_binary_agrees_on_every_key_location(tmp_path: Path, sealed: Path) -> None:
    """The same locations open the file for the binary (so the fast path adds none of its own)."""
    config = tmp_path / "config"
    key_file(config / "sops" / "age" / "keys.txt", KEY)
    environ = sops_env(XDG_CONFIG_HOME=str(config))
    assert sops.decrypt_with_binary(sealed, environ, "x") == sops.in_process(sealed, environ)
