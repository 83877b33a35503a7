"""In-process decryption of SOPS files whose only recipients are age X25519 keys.

A `sops` process costs about 22 ms of start-up, so a fleet with a file per
merchant cannot be decrypted by the binary in the time a run allows. This
module reads the files SOPS writes (getsops/sops: `sops.go`, `aes/cipher.go`,
`age/keysource.go`, `stores/stores.go`) for the one case it fully understands:

- the metadata holds age recipients only (`age1...`), no other key group, no
  `key_groups`/Shamir, at most the `unencrypted_suffix`, `encrypted_suffix` or
  `mac_only_encrypted` options, a version 3.x and a UTC `lastmodified`;
- the identities are the ones sops reads: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`
  and `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/...`), X25519
  secret keys only (no key commands, plugins, post-quantum or SSH keys);
- every value is an `ENC[AES256_GCM,...]` of type str, int, float or bool,
  or an unencrypted string, int, float, bool or null where the options say so.

The data key (age, `pyrage`) opens the values (AES-GCM, additional data =
the key path joined by ":" plus ":"; list items keep their parent's path),
and the MAC (AES-GCM with `lastmodified` as additional data) is compared with
the SHA-512 sops computes over the values in document order. Anything else,
and any failure including a MAC mismatch or no matching identity, raises
`Declined`: the caller then asks the sops binary, whose verdict and error
message are the authoritative ones.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import hashlib
import hmac
import math
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MODE_VARIABLE = "RECONCILER_SOPS_DECRYPT"
MODES = ("auto", "binary")

# stores/stores.go: the metadata keys this module understands.
_OPTIONS = {"unencrypted_suffix", "encrypted_suffix", "mac_only_encrypted"}
_KNOWN = {"age", "lastmodified", "mac", "version"} | _OPTIONS
# sops.go: MACOnlyEncryptedInitialization.
_MAC_ONLY_INIT = bytes([0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3,
                        0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6,
                        0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69])
# aes/cipher.go: the same (unanchored at the end) pattern sops matches values with.
_ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]", re.S)
_LASTMODIFIED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")  # what sops writes: UTC
_INT = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")  # decimal ParseFloat
_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
          "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_INT64 = 2 ** 63


class Declined(Exception):
    """This file is not for the in-process path; the sops binary decides (reason for tests)."""


def mode(environ: Mapping[str, str]) -> str:
    """`auto` (in-process where possible) or `binary` (always the sops binary)."""
    value = (environ.get(MODE_VARIABLE) or "auto").strip().lower()
    if value not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={value!r} is not one of {', '.join(MODES)}")
    return value


# ---------------------------------------------------------------- identities

_identities: dict[bytes, tuple[Any, ...]] = {}
_identities_lock = threading.Lock()


def _key_texts(environ: Mapping[str, str]) -> list[tuple[str, bool]]:
    """(text, several keys per line) from each place sops reads age identities (keysource.go)."""
    if "SOPS_AGE_KEY_CMD" in environ or "SOPS_AGE_SSH_PRIVATE_KEY_CMD" in environ:
        raise Declined("a key command is configured")
    texts = []
    if "SOPS_AGE_KEY" in environ:
        texts.append((environ["SOPS_AGE_KEY"], True))
    files = []
    if "SOPS_AGE_KEY_FILE" in environ:
        files.append(environ["SOPS_AGE_KEY_FILE"])
    config = environ.get("XDG_CONFIG_HOME") or (
        os.path.join(environ["HOME"], ".config") if environ.get("HOME") else "")
    if config:  # os.UserConfigDir on Linux
        files.append(os.path.join(config, "sops", "age", "keys.txt"))
    for name in files:
        try:
            texts.append((Path(name).read_text(encoding="utf-8"), False))
        except FileNotFoundError:
            continue  # sops skips a missing file too
        except (OSError, UnicodeDecodeError):
            raise Declined("a key file cannot be read") from None
    return texts


def _parse_identities(texts: list[tuple[str, bool]]) -> tuple[Any, ...]:
    found = []
    for text, several in texts:
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            for word in line.split() if several else [line]:
                # Plugins, post-quantum keys and anything sops would reject: the binary decides.
                if not word.startswith("AGE-SECRET-KEY-1"):
                    raise Declined("an identity is not an age X25519 secret key")
                try:
                    found.append(pyrage.x25519.Identity.from_str(word))
                except Exception:  # pyrage raises its own IdentityError and ValueError
                    raise Declined("an identity does not parse") from None
    if not found:
        raise Declined("no age identity")
    return tuple(found)


def identities(environ: Mapping[str, str]) -> tuple[Any, ...]:
    """The age X25519 identities sops would use, parsed once per key material."""
    texts = _key_texts(environ)
    digest = hashlib.sha256(repr(texts).encode()).digest()  # the cache keeps no key text
    with _identities_lock:
        cached = _identities.get(digest)
    if cached is None:
        cached = _parse_identities(texts)
        with _identities_lock:
            _identities[digest] = cached
    return cached


def forget_identities() -> None:
    with _identities_lock:
        _identities.clear()


# ---------------------------------------------------------------- values


def go_float(value: float) -> str:
    """strconv.FormatFloat(value, 'f', -1, 64): shortest round-trip digits, no exponent."""
    text = format(decimal.Decimal(repr(value)).normalize(), "f")
    return "-0" if text == "0" and math.copysign(1.0, value) < 0 else text


def to_bytes(value: Any) -> bytes:
    """sops.ToBytes: what the MAC hashes for one value."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return go_float(value).encode()
    return value.encode("utf-8")


def as_emitted(value: Any) -> Any:
    """A value as `sops decrypt --output-type json` reads back: Go writes integral floats
    below 1e21 as their shortest digits without a fraction, so JSON (and the binary path)
    reads an int of those digits (5.686660205320718e16 -> 56866602053207180)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(go_float(value))
    return value


def _typed(plain: bytes, kind: str) -> Any:
    text = plain.decode("utf-8")
    if kind == "str":
        return text
    if kind == "int" and _INT.fullmatch(text) and -_INT64 <= int(text) < _INT64:
        return int(text)
    if kind == "float" and _FLOAT.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    if kind == "bool" and text in _BOOLS:
        return _BOOLS[text]
    raise Declined(f"a value of type {kind} is not handled here")


def _open(cipher: AESGCM, value: str, aad: str) -> Any:
    """aes.Cipher.Decrypt: the typed plaintext of one `ENC[...]` value."""
    if value == "":
        return ""
    found = _ENC.match(value)
    if found is None:
        raise Declined("a value is not in sops' encrypted format")
    try:
        data, iv, tag = (base64.b64decode(found.group(i), validate=True) for i in (1, 2, 3))
        plain = cipher.decrypt(iv, data + tag, aad.encode("utf-8"))
    except (binascii.Error, ValueError, InvalidTag):
        raise Declined("a value does not decrypt (modified, or moved to another key)") from None
    return _typed(plain, found.group(4))


# ---------------------------------------------------------------- the tree


class _Walk:
    """Tree.Decrypt: each leaf decrypted or kept, and hashed, in document order."""

    def __init__(self, cipher: AESGCM, meta: Mapping[str, Any], json_file: bool) -> None:
        self.cipher, self.json_file = cipher, json_file
        self.mac_only = meta.get("mac_only_encrypted") is True
        self.unencrypted = meta.get("unencrypted_suffix") or ""
        self.encrypted = meta.get("encrypted_suffix") or ""
        if not self.encrypted and not self.unencrypted:
            self.unencrypted = "_unencrypted"  # stores.go: the default when no rule is given
        self.hash = hashlib.sha512(_MAC_ONLY_INIT if self.mac_only else b"")

    def _encrypted(self, path: list[str]) -> bool:
        if self.encrypted:
            return any(part.endswith(self.encrypted) for part in path)
        return not any(part.endswith(self.unencrypted) for part in path)

    def node(self, value: Any, path: list[str]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise Declined("a key is not a string")
                out[key] = self.node(item, [*path, key])
            return out
        if isinstance(value, list):
            return [self.node(item, path) for item in value]  # list items keep the path
        if value is None:
            return None  # sops neither decrypts nor hashes null
        return self.leaf(value, path)

    def leaf(self, value: Any, path: list[str]) -> Any:
        encrypted = self._encrypted(path)
        if encrypted:
            if not isinstance(value, str):
                raise Declined("an encrypted value is not a string")
            plain = _open(self.cipher, value, ":".join(path) + ":")
        else:
            plain = self._unencrypted(value)
        if encrypted or not self.mac_only:
            self.hash.update(to_bytes(plain))
        return as_emitted(plain)

    def _unencrypted(self, value: Any) -> Any:
        if isinstance(value, str | bool):
            return value
        # JSON numbers and YAML 1.1 versus 1.2 number forms differ between sops versions.
        if not self.json_file and isinstance(value, int) and -_INT64 <= value < _INT64:
            return value
        if not self.json_file and isinstance(value, float) and math.isfinite(value):
            return value
        raise Declined(f"an unencrypted {type(value).__name__} is not handled here")


def _checked_metadata(meta: Any) -> dict[str, Any]:
    """`meta` if this module handles it (else Declined)."""
    if not isinstance(meta, dict):
        raise Declined("no sops metadata")
    unknown = [k for k, v in meta.items() if k not in _KNOWN and v not in (None, [], "")]
    if unknown:
        raise Declined(f"metadata {sorted(unknown)} is not handled here")
    if meta.get("unencrypted_suffix") and meta.get("encrypted_suffix"):
        raise Declined("two encryption rules")
    if not str(meta.get("version", "")).startswith("3."):
        raise Declined("not a sops 3 file")
    if not isinstance(meta.get("lastmodified"), str) or not _LASTMODIFIED.fullmatch(meta["lastmodified"]):
        raise Declined("lastmodified is not in the form sops writes")
    if meta.get("mac_only_encrypted") not in (None, True, False):
        raise Declined("mac_only_encrypted is not a boolean")
    age = meta.get("age")
    if not isinstance(age, list) or not age or not all(
            isinstance(k, dict) and str(k.get("recipient", "")).startswith("age1")
            and isinstance(k.get("enc"), str) for k in age):
        raise Declined("the recipients are not all age X25519 keys")
    return meta


def data_key(meta: Mapping[str, Any], environ: Mapping[str, str]) -> bytes:
    """The file's data key, unwrapped by the first age stanza an identity opens."""
    found = identities(environ)
    for entry in meta["age"]:
        try:
            key = pyrage.decrypt(entry["enc"].encode(), list(found))
        except Exception:  # pyrage.DecryptError, or armor it rejects: try the next recipient
            continue
        if len(key) == 32:
            return key
    raise Declined("no identity opens the data key")


def decrypt(stored: Any, environ: Mapping[str, str], *, json_file: bool) -> dict[str, Any]:
    """The decrypted document of `stored` (a parsed SOPS file), or Declined."""
    if not isinstance(stored, dict):
        raise Declined("not a mapping")
    meta = _checked_metadata(stored.get("sops"))
    cipher = AESGCM(data_key(meta, environ))  # the data key lives in this frame only
    walk = _Walk(cipher, meta, json_file)
    document = walk.node({k: v for k, v in stored.items() if k != "sops"}, [])
    mac = meta.get("mac")
    if not isinstance(mac, str):
        raise Declined("no MAC")
    expected = _open(cipher, mac, meta["lastmodified"])
    if not isinstance(expected, str) or not hmac.compare_digest(
            expected.encode(), walk.hash.hexdigest().upper().encode()):
        raise Declined("MAC mismatch")
    return document
