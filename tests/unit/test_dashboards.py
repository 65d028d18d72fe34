"""Every metric a Grafana panel or an alert rule queries must be one the code exports.

A renamed or removed metric otherwise leaves a dashboard panel silently empty and an alert that
can never fire. The PromQL of every `expr` is reduced to its metric names and compared with the
families of `catalog.metrics.REGISTRY`, with the sample suffixes Prometheus adds to each kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
DATASOURCES = ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml"

# Metrics exported by something other than the services' registry.
EXTERNAL_METRICS = {
    # Written by Prometheus itself for every scrape target: 1 when the scrape succeeded. It is the
    # only way to see a service that is down, since a dead process exports nothing.
    "up",
}

# Sample names each metric kind exposes (prometheus_client's text format).
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
}

PROMQL_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "atan2",
}  # fmt: skip


def exported_metric_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    # Label matchers and ranges/subqueries hold label names and durations, not metrics.
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    # Grouping and matching clauses list label names.
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text, flags=re.I
    )
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                yield f"{path.name}: {panel['title']!r} {target['refId']}", target["expr"]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def alert_exprs() -> Iterator[tuple[str, str]]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield f"{ALERTS.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]


def unknown_metrics(exprs: Iterator[tuple[str, str]]) -> dict[str, set[str]]:
    known = exported_metric_names() | EXTERNAL_METRICS
    unknown: dict[str, set[str]] = {}
    for where, expr in exprs:
        if missing := metric_names(expr) - known:
            unknown[where] = missing
    return unknown


def test_the_four_dashboards_are_provisioned() -> None:
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS}
    assert uids == {"catalog-pipeline", "catalog-llm-cost", "catalog-identity", "catalog-search"}


def test_every_dashboard_panel_queries_metrics_the_code_exports() -> None:
    exprs = list(dashboard_exprs())
    assert len(exprs) > 40
    assert unknown_metrics(iter(exprs)) == {}


def test_every_alert_rule_queries_metrics_the_code_exports() -> None:
    exprs = list(alert_exprs())
    assert len(exprs) >= 8
    assert unknown_metrics(iter(exprs)) == {}


def test_a_panel_naming_a_metric_nobody_exports_is_reported() -> None:
    exprs = [
        ("ok", 'sum by (service) (rate(catalog_messages_total{outcome="processed"}[5m]))'),
        (
            "renamed",
            "histogram_quantile(0.9, sum by (le) (rate(catalog_stage_latency_bucket[5m])))",
        ),
        ("wrong suffix", "sum(catalog_llm_cost_usd)"),
    ]
    assert unknown_metrics(iter(exprs)) == {
        "renamed": {"catalog_stage_latency_bucket"},
        "wrong suffix": {"catalog_llm_cost_usd"},
    }


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('up{job="catalog-normalization"} == 0', {"up"}),
        (
            "sum(rate(a_total[$__rate_interval])) / on() group_left(x) max by (le, service) (b)",
            {"a_total", "b"},
        ),
        ('absent(up{job="x"} == 1)', {"up"}),
        ("(deriv(lag[10m]) > 0) and (sum without (partition) (lag) > 1000)", {"lag"}),
        ("sum(x offset 5m) > bool 3 unless y", {"x", "y"}),
        ("scalar(sum(rate(r[5m]))) * 2e3", {"r"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_panels_use_the_provisioned_prometheus_datasource() -> None:
    (source,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    for path in DASHBOARDS:
        for panel in _panels(json.loads(path.read_text())["panels"]):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == source["uid"], (path.name, panel["title"])
            assert panel["targets"], (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == source["uid"], (path.name, panel["title"])
