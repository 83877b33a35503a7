"""Rendering of the templated fields: the return URL and the portal instructions.

Templates come from pull requests, so they run in Jinja2's immutable sandbox
with undefined names as errors, and with a deliberately small language:
substitutions of the merchant's own values, `{% if %}`, comparisons, string
concatenation and a few text filters. Calls, loops, macros, includes and
arithmetic that could multiply a string are refused before rendering, so a
template can neither reach Python internals nor spend unbounded time or
memory. TikTok's `[TT_ORDER_NUM]` and `[TTS_ZIP_CODE]` are plain text to
Jinja2 and pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reconciler.config.catalog import hint
from reconciler.config.problems import Problem
from reconciler.config.yamldoc import DocPath, Located

if TYPE_CHECKING:
    from reconciler.model import DesiredState

TEMPLATE_FIELDS: tuple[tuple[str, ...], ...] = (
    ("tiktok_shop", "return_proxy", "return_url"),
    ("loop", "instructions"),
)
_FILTERS = ("lower", "upper", "title", "capitalize", "trim", "default", "urlencode", "string")
_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr, nodes.Getitem,
    nodes.Const, nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr, nodes.Compare,
    nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.Add,
)


class TemplateRefused(SecurityError):
    """The template uses a construct merchant templates do not allow."""


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
    )
    env.globals.clear()  # no range(), lipsum(), namespace(): only the merchant's values
    env.filters = {name: env.filters[name] for name in _FILTERS}
    return env


_ENV = _environment()


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Parse, vet and compile once per distinct source (most merchants share the profile's)."""
    tree = _ENV.parse(source)
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateRefused(f"{_describe(node)} is not allowed in merchant templates")
    return _ENV.from_string(tree)


def render_templates(doc: Located, slug: str) -> tuple[Located, list[Problem]]:
    """Return a copy of `doc` with each templated field rendered, and any problems.

    A field that fails to render becomes None in the copy, so domain rules,
    which only look at strings, skip it: its problem is already reported.
    """
    context = {**doc.data, "slug": slug}  # the merchant's own values, nothing else
    data = dict(doc.data)
    copied: set[int] = set()
    problems: list[Problem] = []
    for path in TEMPLATE_FIELDS:
        parent = _writable_parent(data, path, copied)
        source = parent.get(path[-1]) if parent is not None else None
        if parent is None or not isinstance(source, str):
            continue
        try:
            parent[path[-1]] = compile_template(source).render(context)
        except Exception as exc:  # any failure of a user template is a problem, never a crash
            parent[path[-1]] = None
            problems.append(_problem(exc, path, source, doc))
    return Located(data, doc.values, doc.keys), problems


def template_sources(doc: Located) -> dict[DocPath, str]:
    """The source of each templated field that holds a template (before rendering)."""
    sources: dict[DocPath, str] = {}
    for path in TEMPLATE_FIELDS:
        value: Any = doc.data
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            sources[path] = value
    return sources


def restate(desired: DesiredState, address: str, value: Any) -> Any:
    """`value` of a templated `address` as the template states it, without this merchant's values.

    The desired value becomes its template source. Any other value (the live one,
    rendered from an older template) gets each of this merchant's values the
    template refers to put back as the reference, so merchants whose values differ
    only by their own fields state the same change.
    """
    source = desired.templates.get(address)
    if source is None or not isinstance(value, str):
        return value
    if value == desired.settings.get(address):
        return source
    for name, text in _references(source, desired.document, desired.slug):
        value = value.replace(text, "{{ " + name + " }}")
    return value


def _references(source: str, document: Mapping[str, Any], slug: str) -> list[tuple[str, str]]:
    """(dotted name, this merchant's value) for each string the template substitutes, longest first."""
    found: dict[str, str] = {}
    for path in _referenced_paths(source):
        value: Any = {**document, "slug": slug}
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, str) and len(value) >= 3:  # a short value would match by accident
            found[".".join(path)] = value
    return sorted(found.items(), key=lambda item: -len(item[1]))


@lru_cache(maxsize=256)
def _referenced_paths(source: str) -> tuple[tuple[str, ...], ...]:
    try:
        tree = _ENV.parse(source)
    except TemplateError:
        return ()
    paths: list[tuple[str, ...]] = []
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        path = _chain(node)
        if path:
            paths.append(path)
    return tuple(paths)


def _chain(node: nodes.Node) -> tuple[str, ...] | None:
    """`loop.portal_domain` or `loop["portal_domain"]` as ("loop", "portal_domain"); else None."""
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node)
        return (*base, node.attr) if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _chain(node.node)
        return (*base, str(node.arg.value)) if base else None
    return None


def _problem(exc: Exception, path: DocPath, source: str, doc: Located) -> Problem:
    rule = _rule_for(exc)
    field = ".".join(map(str, path))
    where = ""
    lineno = getattr(exc, "lineno", None)
    if "\n" in source.rstrip("\n") and lineno:
        where = f" (template line {lineno})"
    # Template contexts hold secret references, never values, so the error text is safe to show.
    detail = exc.message if isinstance(exc, TemplateError) and exc.message else (
        f"{type(exc).__name__}: {exc}")
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    return Problem.at(doc.value_pos(path), rule, f"{field}{where}: {detail}", hint(rule))


def _rule_for(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return "T001"
    if isinstance(exc, SecurityError):  # before UndefinedError: unsafe attributes surface as undefined
        return "T003"
    if isinstance(exc, UndefinedError):
        return "T002"
    return "T004"


def _describe(node: nodes.Node) -> str:
    names = {nodes.Call: "calling a function or method", nodes.For: "{% for %}",
             nodes.Macro: "{% macro %}", nodes.Mul: "multiplication", nodes.Pow: "powers",
             nodes.Mod: "% formatting", nodes.Assign: "{% set %}"}
    return names.get(type(node), type(node).__name__)


def _writable_parent(data: dict[str, Any], path: tuple[str, ...], copied: set[int]
                     ) -> dict[str, Any] | None:
    """The mapping holding `path`'s field, copied (with every mapping above it) on first use.

    Only the mappings on the way to a templated field are copied: the input
    document, which the template context reads, is never written, and what
    no template touches is shared with it rather than copied.
    """
    current = data
    for key in path[:-1]:
        child = current.get(key)
        if not isinstance(child, dict):
            return None
        if id(child) not in copied:
            child = current[key] = dict(child)
            copied.add(id(child))
        current = child
    return current
