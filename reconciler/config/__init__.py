"""Merchant configuration: load, merge profiles, validate, render and check rules.

    from reconciler.config import load_merchants
    result = load_merchants(Path("merchants"))
    result.merchants  # list[DesiredState], sorted by slug
    result.problems   # list[Problem], every problem of every file

Modules: yamldoc (safe bounded YAML with positions), profiles (extends and
deep merge), schema (schemas/merchant.schema.json), templates (sandboxed
Jinja2), rules and returnurl (domain rules), fleet (rules across files),
desired (DesiredState), catalog (every rule id), loader (the pipeline).
"""

from reconciler.config.catalog import RULES, RuleInfo
from reconciler.config.loader import load_merchant, load_merchants
from reconciler.config.problems import LoadResult, Problem

__all__ = ["RULES", "LoadResult", "Problem", "RuleInfo", "load_merchant", "load_merchants"]
