"""The postgres backend's address: parsed once, its password never printed.

The password comes from a secret reference in the URL
(`postgresql://USER:env:VAR@HOST/DB` or `?password=env:VAR`) or from libpq's
own environment (PGPASSWORD, ~/.pgpass). A literal password in the URL is
refused: a URL is seen in process lists, shell history and CI logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from reconciler.backend.errors import BackendError
from reconciler.secrets import parse_ref, redactor


@dataclass(frozen=True)
class Dsn:
    params: dict[str, Any]  # for psycopg.connect (text values), password resolved
    display: str  # postgresql://USER@HOST:PORT/DATABASE: what every output shows


def _display(params: dict[str, str]) -> str:
    user = f"{params['user']}@" if params.get("user") else ""
    host = params.get("host", "")
    host = f"[{host}]" if ":" in host else host
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname', '')}"


def parse_dsn(spec: str, environ: dict[str, str] | None = None) -> Dsn:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = {k: str(v) for k, v in conninfo_to_dict(spec).items()}
    except ProgrammingError:
        raise BackendError("the backend URL is not a valid postgresql:// URL "
                           "(postgresql://USER@HOST:PORT/DATABASE)") from None
    display = _display(params)
    password = params.pop("password", None)
    if password is not None:
        ref = parse_ref(password)
        if ref is None:
            redactor.add(password)
            raise BackendError(f"backend {display}: a literal password in the backend URL is "
                               "refused; write env:VAR in its place, or set PGPASSWORD")
        value = (os.environ if environ is None else environ).get(ref.var)
        if not value:
            raise BackendError(f"backend {display}: environment variable {ref.var} (its "
                               "password) is not set")
        redactor.add(value)
        params["password"] = value
    if os.environ.get("PGPASSWORD"):
        redactor.add(os.environ["PGPASSWORD"])
    return Dsn(params, display)
