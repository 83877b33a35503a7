"""No credential at rest: state, log, journal and lock files hold digests only, and are 0600.

Every credential the shipped merchants reference (an `env:` copy of them) gets
a canary value; their TikTok credentials are refresh tokens, so every run also
has the sandbox's auth host issue access tokens (`TTP_...`) and, with rotation
on, refresh tokens (`TTR_...`). After
`plan`, `apply` and `plan` on the embedded sandbox, and the same against
`sandbox serve --state FILE`, no file the run left behind holds a canary,
every such file is 0600 and every directory made for them 0700, even under
a permissive umask; nor does any hold a token the auth host issued.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import clean_env, serving, start_sandbox
from tests.hardening.test_secrets import CANARIES, FLEET, MARK

ISSUED = ("TTP_", "TTR_")  # how the auth host's access and refresh tokens begin


def permissive_umask() -> None:
    os.umask(0o022)


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, preexec_fn=permissive_umask)


def embedded(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(FLEET, tmp_path / "merchants")
    return clean_env(**CANARIES)


def assert_nothing_at_rest(root: Path, *, with_log: bool = True) -> None:
    paths = sorted(root.rglob("*"))
    assert not with_log or any(p.name.endswith(".log") for p in paths), "the run left no state log"
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path} is {oct(mode)}"
            continue
        assert mode == 0o600, f"{path} is {oct(mode)}"
        text = path.read_bytes().decode("utf-8", "replace")
        assert MARK not in text and "CANARY" not in text, f"a credential is stored in {path}"
        assert not any(prefix in text for prefix in ISSUED), f"an issued token is stored in {path}"


def test_plan_and_apply_on_the_embedded_sandbox_store_no_credential(tmp_path: Path) -> None:
    env = embedded(tmp_path)
    for args in (("plan",), ("apply", "--auto-approve"), ("plan", "--detailed-exitcode")):
        result = run(tmp_path, *args, env=env)
        assert result.returncode in (0, 2), result.stderr
    assert "0 errored" in result.stdout  # the canaries were accepted: every service was read
    assert (tmp_path / ".reconciler" / "audit.jsonl").exists()  # checked like the journal
    assert_nothing_at_rest(tmp_path / ".reconciler")


def test_a_state_file_holding_credential_values_is_rewritten_with_digests(tmp_path: Path) -> None:
    env = embedded(tmp_path)
    assert run(tmp_path, "plan", env=env).returncode == 0
    state = tmp_path / ".reconciler" / "sandbox-state.json"
    # What an older version wrote: the values themselves, no key, readable by everyone.
    data = json.loads(state.read_text())
    del data["state_key"]
    for record in data["merchants"].values():
        record["credentials"] = {name: CANARIES[var] for name, var in _variables(record).items()}
        refresh = record["credentials"]["tiktok_refresh_token"]
        record["tiktok_auth"] = {"refresh_tokens": {refresh: 4_000_000_000},
                                 "access_tokens": {"TTP_older-" + MARK: 4_000_000_000},
                                 "revoked": ["TTR_older-" + MARK]}
    state.write_text(json.dumps(data))
    state.chmod(0o644)
    (state.parent / "sandbox-state.json.log").write_text(
        json.dumps({"merchant": "acme-apparel", "record": data["merchants"]["acme-apparel"]}) + "\n")

    result = run(tmp_path, "plan", "--detailed-exitcode", env=env)
    assert result.returncode == 2, result.stderr
    assert "0 errored" in result.stdout  # the migrated digests still accept the credentials
    assert_nothing_at_rest(tmp_path / ".reconciler", with_log=False)  # the rewrite dropped the log


def _variables(record: dict) -> dict[str, str]:
    """Credential name -> the shipped file's variable, for one sandbox record."""
    from reconciler.config import load_merchants

    merchant = next(m for m in load_merchants(FLEET).merchants if m.slug == record["spec"]["slug"])
    return {name: ref.var for name, ref in merchant.credentials.all().items()}


def test_a_served_sandbox_state_file_stores_no_credential(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the served sandbox inherits it
    try:
        sandbox = start_sandbox(tmp_path, FLEET, **CANARIES)
    finally:
        os.umask(previous)
    with serving(sandbox):
        for args in (("plan",), ("apply", "--auto-approve")):
            result = sandbox.cli(*args)
            assert result.returncode == 0, result.stderr
        assert "0 failed" in result.stdout
    state_files = [p for p in tmp_path.iterdir() if p.name.startswith("sandbox.json")]
    assert {p.name for p in state_files} >= {"sandbox.json", "sandbox.json.lock"}
    for path in state_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert MARK not in path.read_text(errors="replace"), f"a credential is stored in {path}"
    assert_nothing_at_rest(tmp_path / ".reconciler", with_log=False)  # the CLI's journal and locks


def _token_refresh(sandbox, slug: str, refresh_token: str) -> dict:
    from reconciler.config import load_merchants

    creds = next(m for m in load_merchants(FLEET).merchants if m.slug == slug).credentials
    params = {"app_key": CANARIES[creds.tiktok_app_key.var],
              "app_secret": CANARIES[creds.tiktok_app_secret.var],
              "refresh_token": refresh_token, "grant_type": "refresh_token"}
    answer = httpx.get(f"{sandbox.url}/tiktok-auth/api/v2/token/refresh", params=params,
                       timeout=10).json()
    assert answer["code"] == 0, answer
    return answer["data"]


def test_tokens_the_auth_host_issues_are_kept_as_digests(tmp_path: Path) -> None:
    """Refresh and access tokens issued by the served auth host (to the CLI's runs and to a
    direct exchange, with rotation on) are in no state file or log, and still work."""
    from reconciler.config import load_merchants

    previous = os.umask(0o022)
    try:
        sandbox = start_sandbox(tmp_path, FLEET, **CANARIES)
    finally:
        os.umask(previous)
    slugs = [m.slug for m in load_merchants(FLEET).merchants if m.credentials.tiktok_refresh_token]
    assert slugs, "the shipped merchants use TikTok refresh tokens"
    with serving(sandbox):
        sandbox.control("POST", "/_sandbox/tiktok-auth", {"rotate_refresh_tokens": True})
        result = sandbox.cli("plan", "--detailed-exitcode")
        assert result.returncode == 2, result.stderr
        assert "0 errored" in result.stdout  # every merchant's refresh token was exchanged
        issued = []
        for slug in slugs:
            refresh_var = next(m for m in load_merchants(FLEET).merchants
                               if m.slug == slug).credentials.tiktok_refresh_token.var
            first = _token_refresh(sandbox, slug, CANARIES[refresh_var])
            second = _token_refresh(sandbox, slug, first["refresh_token"])  # the rotated one works
            issued += [first["access_token"], first["refresh_token"],
                       second["access_token"], second["refresh_token"]]
        assert all(token.startswith(ISSUED) for token in issued)
        result = sandbox.cli("apply", "--auto-approve")
        assert result.returncode == 0, result.stderr
    state_files = [p for p in tmp_path.iterdir() if p.name.startswith("sandbox.json")]
    assert any(p.name == "sandbox.json" for p in state_files)
    for path in state_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        text = path.read_text(errors="replace")
        assert MARK not in text, f"a credential is stored in {path}"
        for token in issued:
            assert token not in text, f"an issued token is stored in {path}"
        assert not any(prefix in text for prefix in ISSUED), f"an issued token is stored in {path}"
    from reconciler.sandbox.store import StateStore

    state = StateStore(tmp_path / "sandbox.json").read()  # the snapshot and its log
    books = [r["tiktok_auth"] for r in state["merchants"].values() if r["spec"]["slug"] in slugs]
    assert all(books) and all(key.startswith("hmac-sha256:") for book in books
                              for kind in ("refresh_tokens", "access_tokens") for key in book[kind])
    assert sum(len(book["access_tokens"]) for book in books) >= 3 * len(slugs)
    assert_nothing_at_rest(tmp_path / ".reconciler", with_log=False)  # the CLI's journal, audit, locks
