"""Validation against schemas/merchant.schema.json, with errors mapped to file positions.

Two validators are compiled once per process: `shape` (every key optional;
used for profiles and for a merchant whose profile could not be merged) and
`complete` (shape plus the required keys of `#/$defs/complete`; used for a
merchant after its profile is merged in). jsonschema's own messages echo
values, so every message here is written by us, and credential fields never
echo what they hold.

Each schema is also compiled to Python by fastjsonschema, which answers
"valid or not" many times faster than jsonschema walks a document. A valid
document (nearly every file of a fleet) stops there; an invalid one is
walked again by jsonschema, whose errors carry the paths the messages need.
The fast validator is never more lenient than jsonschema here (see
`_fast_schema`), so it can only send a document to the slow path, never
let a bad one through.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from reconciler.config.catalog import hint
from reconciler.config.problems import Problem
from reconciler.config.yamldoc import DocPath, Located

if TYPE_CHECKING:  # jsonschema is imported when a document is invalid (or a test asks)
    from jsonschema.exceptions import ValidationError

# The package's own copy (reconciler/schemas/), so an installed wheel validates too; the
# top-level schemas/ is the editors' copy, kept identical by `make schema` and a test.
SCHEMA_FILE = "merchant.schema.json"
CREDENTIAL_FIELDS: tuple[tuple[str, ...], ...] = (  # in the order a merchant file lists them
    ("shopify", "access_token"),
    ("tiktok_shop", "app_key"),
    ("tiktok_shop", "app_secret"),
    ("tiktok_shop", "access_token"),
    ("tiktok_shop", "refresh_token"),
    ("pipe17", "api_key"),
    ("loop", "api_key"),
)
# Vendor token prefixes that must never sit in a merchant file, whatever the key.
_TOKEN_LOOKING = re.compile(r"\b(shpat|shpca|shppa|shpss|sk_live|sk_test)_[A-Za-z0-9]{8,}")
_TOKEN_PREFILTER = re.compile(_TOKEN_LOOKING.pattern.removeprefix(r"\b"))  # see _token_looking_values
_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "a list", dict: "a mapping", type(None): "empty (null)"}


def _anchored_pattern(validator: Any, pattern: str, instance: Any, schema: Any
                      ) -> Iterator[ValidationError]:
    """`pattern` as editors read it, except that `$` does not accept a trailing newline.

    Python's `re.search` lets `^...$` match "value\n"; a newline smuggled into
    a shop domain or id must fail validation, not the first request.
    """
    if not isinstance(instance, str):
        return
    if not re.search(pattern, instance) or (pattern.endswith("$") and instance.endswith("\n")):
        from jsonschema.exceptions import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _anchored_pattern})


def schema_bytes(name: str) -> bytes:
    """A schema shipped in the package (`merchant.schema.json` or `plan.schema.json`)."""
    return (resources.files("reconciler") / "schemas" / name).read_bytes()


def shipped_schema_path() -> Path:
    """Where the package's merchant schema is on disk (a wheel installs it as a file)."""
    return Path(str(resources.files("reconciler") / "schemas" / SCHEMA_FILE)).resolve()


@cache
def schema() -> dict[str, Any]:
    return json.loads(schema_bytes(SCHEMA_FILE))


@cache
def shape_validator() -> Any:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())
    return _validator_class()(_shape_schema())


@cache
def complete_validator() -> Any:
    return _validator_class()(_complete_schema())


@cache
def _shape_schema() -> dict[str, Any]:
    return _inlined({"$ref": "#/$defs/document"})


@cache
def _complete_schema() -> dict[str, Any]:
    return _inlined({"allOf": [
        {"$ref": "#/$defs/document"}, {"$ref": "#/$defs/complete"},
    ]})


GENERATED = Path(__file__).resolve().parent / "generated"


def schema_digest() -> str:
    """What the generated validators were made from: the schema file's bytes."""
    return hashlib.sha256(schema_bytes(SCHEMA_FILE)).hexdigest()


@cache
def _fast_validator(complete: bool) -> Any:
    """The fastjsonschema validator: the shipped generated module when it was made from
    this schema file, else compiled now (about a tenth of a second per validator)."""
    name = "complete" if complete else "shape"
    try:
        module = importlib.import_module(f"reconciler.config.generated.{name}")
        if getattr(module, "SCHEMA_SHA256", None) == schema_digest():
            return module.validate
    except ImportError:
        pass
    inlined = _complete_schema() if complete else _shape_schema()
    return fastjsonschema.compile(_fast_schema(inlined), use_default=False)


def generate() -> list[Path]:
    """Write reconciler/config/generated/{shape,complete}.py from the schema file.

    Run `make schema` after editing schemas/merchant.schema.json; a test
    fails until the files match it.
    """
    written = []
    GENERATED.mkdir(exist_ok=True)
    (GENERATED / "__init__.py").write_text('"""Validators generated from schemas/merchant.schema.json '
                                           '(see reconciler/config/schema.py)."""\n')
    for name, inlined in (("shape", _shape_schema()), ("complete", _complete_schema())):
        code = fastjsonschema.compile_to_code(_fast_schema(inlined), use_default=False)
        header = (f"# Generated by `make schema` from "
                  f"schemas/merchant.schema.json; do not edit.\n# ruff: noqa\n"
                  f"SCHEMA_SHA256 = {schema_digest()!r}\n")
        path = GENERATED / f"{name}.py"
        path.write_text(header + code)
        written.append(path)
    return written


def _fast_schema(node: Any) -> Any:
    """An inlined schema for fastjsonschema, exactly as strict as `_validator_class()`.

    fastjsonschema reads `$` as end of string (`\\Z`); `_anchored_pattern`
    also refuses a trailing newline, which `\\Z` would let a pattern like
    `[^/]+$` consume. A lookbehind before each final `$` closes that gap.
    The keywords this schema uses (type, enum, properties, required,
    additionalProperties, pattern, lengths) mean the same in draft-07, which
    fastjsonschema implements, and in 2020-12.
    """
    if isinstance(node, list):
        return [_fast_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _fast_schema(value) for key, value in node.items()}
    pattern = node.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
        result["pattern"] = pattern[:-1] + r"(?<!\n)$"
    return result


def _inlined(node: Any) -> Any:
    """`node` with every local `#/$defs/...` reference replaced by its target.

    Resolving references dominates validation time in jsonschema; the schema
    has no recursive references, so inlining them once is exact and makes
    validating a fleet several times faster.
    """
    if isinstance(node, list):
        return [_inlined(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _inlined(value) for key, value in node.items() if key != "$ref"}
    ref = node.get("$ref")
    if ref is not None:
        target = schema()["$defs"][ref.removeprefix("#/$defs/")]
        result = {**_inlined(target), **result}
    return result


def validate(doc: Located, *, complete: bool) -> list[Problem]:
    """Every schema problem of `doc` (without its `extends:` key, checked elsewhere)."""
    data = {k: v for k, v in doc.data.items() if k != "extends"}
    try:
        _fast_validator(complete)(data)
        problems: list[Problem] = []
    except fastjsonschema.JsonSchemaException:
        validator = complete_validator() if complete else shape_validator()
        problems = [p for error in validator.iter_errors(data) for p in _explain(error, doc)]
    return sorted(set(problems)) + list(_token_looking_values(doc))


def _explain(error: ValidationError, doc: Located) -> Iterator[Problem]:
    if error.context:  # anyOf / oneOf: explain the branch that came closest
        from jsonschema.exceptions import best_match

        yield from _explain(best_match(error.context), doc)
        return
    path = tuple(error.absolute_path)
    if path in CREDENTIAL_FIELDS:
        yield _credential_problem(path, error.instance, doc)
        return
    kind = error.validator
    if kind == "additionalProperties":
        yield from _unknown_keys(path, error, doc)
    elif kind == "required":
        yield from _missing_keys(path, error, doc)
    elif kind == "type":
        yield _problem(doc.value_pos(path), "S003",
                       f"{_name(path)} must be {_expected(error.validator_value)}, "
                       f"not {_kind_of(error.instance)}", _type_hint(error))
    elif kind in ("enum", "const"):
        value: Any = error.validator_value  # JSON from the schema (see `_subschema`)
        allowed = value if kind == "enum" else [value]
        yield _problem(doc.value_pos(path), "S004",
                       f"{_name(path)} must be one of {', '.join(map(str, allowed))}; "
                       f"got {_show(error.instance)}")
    elif kind == "pattern":
        description = _subschema(error).get("description") or f"must match {error.validator_value}"
        yield _problem(doc.value_pos(path), "S004",
                       f"{_name(path)} does not have the expected form (got {_show(error.instance)})",
                       description)
    else:
        yield _problem(doc.value_pos(path), "S005", f"{_name(path)}: {_bound_message(error)}")


def _credential_problem(path: DocPath, value: Any, doc: Located) -> Problem:
    # The value may be a real credential: describe it, never repeat it.
    pos = doc.value_pos(path)
    if isinstance(value, str) and value.startswith(("env:", "sops:")):
        return _problem(pos, "C002", f"{_name(path)} is not a valid secret reference")
    return _problem(pos, "C001", f"{_name(path)} holds a literal credential; use env:VAR or sops:PATH#KEY")


def _token_looking_values(doc: Located) -> Iterator[Problem]:
    """Credential-looking text in any other field (a token pasted into evidence, say)."""
    # Nearly every file has none: one search over the document's repr (every value's
    # [A-Za-z0-9_] runs appear in it verbatim; the prefilter ignores word boundaries,
    # which escapes could shift) rules that out before walking each value.
    if not _TOKEN_PREFILTER.search(repr(doc.data)):
        return
    stack: list[tuple[DocPath, Any]] = [((), doc.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        elif isinstance(value, str) and path not in CREDENTIAL_FIELDS and _TOKEN_LOOKING.search(value):
            yield _problem(doc.value_pos(path), "C001",
                           f"{_name(path)} contains what looks like a literal credential",
                           "remove it; credentials belong in the environment, referenced as env:VAR")


def _unknown_keys(path: DocPath, error: ValidationError, doc: Located) -> Iterator[Problem]:
    allowed = list(_subschema(error).get("properties", {}))
    instance: Any = error.instance  # the mapping that has the unknown keys
    for key in instance:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        advice = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
        where = f" in {_name(path)}" if path else ""
        yield _problem(doc.key_pos((*path, key)), "S001",
                       f"unknown key '{_clip(str(key))}'{where}", advice)


def _missing_keys(path: DocPath, error: ValidationError, doc: Located) -> Iterator[Problem]:
    pos = doc.key_pos(path) if path else doc.value_pos(())
    where = f"{_name(path)} is missing" if path else "missing"
    required: Any = error.validator_value  # the schema's `required` list
    instance: Any = error.instance
    for key in required:
        if key not in instance:
            yield _problem(pos, "S002", f"{where} required key '{key}'")


def _problem(pos: Any, rule: str, message: str, fix: str | None = None) -> Problem:
    return Problem.at(pos, rule, message, fix or hint(rule))


def _name(path: DocPath) -> str:
    return ".".join(str(p) for p in path) or "the document"


def _subschema(error: ValidationError) -> Mapping[str, Any]:
    """The schema object whose keyword failed.

    jsonschema's types allow `Unset` and booleans here (and in `validator_value` and
    `instance`) for errors made by hand; every error a validator yields has the
    failed schema object, the keyword's value and the instance set.
    """
    return error.schema if isinstance(error.schema, Mapping) else {}


def _expected(types: Any) -> str:  # `type`'s value: a name or a list of names
    names = [types] if isinstance(types, str) else types
    return " or ".join({"object": "a mapping", "array": "a list", "boolean": "true or false",
                        "integer": "a whole number"}.get(t, f"a {t}") for t in names)


def _kind_of(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _type_hint(error: ValidationError) -> str:
    if error.validator_value == "string" and not isinstance(error.instance, dict | list):
        key = error.absolute_path[-1] if error.absolute_path else "value"
        return f'quote the value, e.g. {key}: "{_clip(str(error.instance), 30)}"'
    if error.validator_value == "boolean":
        return "write true or false, without quotes"
    if error.validator_value == "object":
        return "write its keys on the lines below, indented"
    return _subschema(error).get("description") or hint("S003")


def _bound_message(error: ValidationError) -> str:
    limit = error.validator_value
    return {
        "minLength": "must not be empty" if limit == 1 else f"must be at least {limit} characters",
        "maxLength": f"must be at most {limit} characters",
    }.get(str(error.validator), f"violates {error.validator} {limit}")


def _show(value: Any) -> str:
    return _clip(repr(value)) if isinstance(value, str) else _kind_of(value)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
