"""SOPS test fixtures: age keys made on the fly, encrypted files written by the real sops.

`sopsify` turns a merchants directory that names its secrets `env:VAR` into
one whose secrets are `sops:` references into encrypted files, one per
merchant (and one per profile), so any fleet the tests build can be run
with one age key in the environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
import yaml

from reconciler import sops

SECTIONS = ("shopify", "tiktok_shop", "pipe17", "loop")


@dataclass(frozen=True)
class AgeKey:
    secret: str  # AGE-SECRET-KEY-1...
    public: str  # age1...

    @property
    def env(self) -> dict[str, str]:
        return {"SOPS_AGE_KEY": self.secret}


def age_key() -> AgeKey:
    identity = pyrage.x25519.Identity.generate()
    return AgeKey(str(identity), str(identity.to_public()))


def sops_env(**extra: str) -> dict[str, str]:
    """The environment without any key material of the machine's own."""
    env = {k: v for k, v in os.environ.items() if k not in sops.KEY_VARIABLES}
    env.update({"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"}, **extra)
    return env


def encrypt(path: Path, document: dict[str, Any], public: str, *extra: str) -> None:
    """Write `document` encrypted to `public`, through sops' standard input only.

    No `.sops.yaml` is consulted (`--config /dev/null`): the recipient is given here.
    The file's suffix chooses YAML or JSON; `extra` are more `sops encrypt` options.
    """
    kind = "json" if path.suffix == ".json" else "yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        sops.command("--config", "/dev/null", "encrypt", "--age", public, "--filename-override", str(path),
                     "--input-type", "json", "--output-type", kind, *extra),
        input=json.dumps(document).encode(), capture_output=True, check=False, timeout=60,
        env=sops_env(), cwd=path.parent,
    )
    assert done.returncode == 0, done.stderr.decode()
    path.write_bytes(done.stdout)


def decrypt(path: Path, key: AgeKey) -> dict[str, Any]:
    done = subprocess.run(sops.command("decrypt", "--output-type", "json", str(path)),
                          capture_output=True, check=True, timeout=60, env=sops_env(**key.env))
    return json.loads(done.stdout)


def _env_refs(text: str) -> list[tuple[str, str, str]]:
    """(section, field, variable) for each `env:` credential of a merchant or profile file."""
    data = yaml.safe_load(text) or {}
    found = []
    for section in SECTIONS:
        for field, value in (data.get(section) or {}).items():
            if isinstance(value, str) and value.startswith("env:"):
                found.append((section, field, value.removeprefix("env:")))
    return found


def sopsify(merchants: Path, public: str, value_of: Callable[[str], str] | None = None,
            write: Callable[[Path, dict[str, Any], str], None] | None = None) -> dict[str, str]:
    """Move every `env:VAR` of `merchants` (files and profiles) into encrypted files.

    Each file's values go to `secrets/<name>.sops.yaml` (a profile's to
    `secrets/profile-<name>.sops.yaml`), as `section.field`. `value_of(VAR)`
    gives each value (by default `value-<var>`); `write` encrypts each file
    (by default `encrypt`, at once). Returns VAR -> value.
    """
    write = write or encrypt
    value_of = value_of or (lambda var: f"value-{var.lower()}")
    values: dict[str, str] = {}
    files = [(p, p.stem) for p in sorted(merchants.glob("*.yaml"))]
    files += [(p, f"profile-{p.stem}") for p in sorted((merchants / "profiles").glob("*.yaml"))]
    for path, name in files:
        text = path.read_text(encoding="utf-8")
        refs = _env_refs(text)
        if not refs:
            continue
        relative = f"secrets/{name}.sops.yaml"
        document: dict[str, dict[str, str]] = {}
        for section, field, var in refs:
            values[var] = value_of(var)
            document.setdefault(section, {})[field] = values[var]
            text = re.sub(rf"env:{var}(?=\s|$)", f"sops:{relative}#{section}.{field}", text)
        write(merchants / relative, document, public)
        path.write_text(text, encoding="utf-8")
    return values
