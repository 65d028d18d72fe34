"""The Prometheus alert rules and the dashboards' PromQL, checked by promtool.

promtool comes with Debian's `prometheus` package; `.ci/run` installs it. Without it these tests
are skipped on a developer's machine, but fail in CI (CI=true), where a skip would hide that the
rules were never checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERT_TESTS = sorted((ROOT / "deploy/prometheus/tests").glob("*.yml"))
PROMETHEUS_CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))

# Grafana's own variables, replaced by what Grafana would put there, so promtool can parse the
# panel queries.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not on PATH (Debian: apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; .ci/run installs it, so CI must have it")
        pytest.skip(message)
    return path


def run_promtool(*args: str | Path) -> str:
    result = subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def alert_names() -> set[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_promtool_checks_the_alert_rules() -> None:
    output = run_promtool("check", "rules", ALERTS)
    assert f"SUCCESS: {len(alert_names())} rules found" in output


def test_promtool_checks_the_prometheus_config_and_its_rule_file() -> None:
    run_promtool("check", "config", PROMETHEUS_CONFIG)


def test_the_alert_rules_unit_tests_pass() -> None:
    assert ALERT_TESTS
    output = run_promtool("test", "rules", *ALERT_TESTS)
    assert "SUCCESS" in output


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in ALERT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = alert_names()
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested staying quiet"
    assert (firing | quiet) <= names, "tests name alerts that do not exist"


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    rules = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                rules.append({"record": f"dashboard:query_{len(rules)}", "expr": expr})
    assert rules
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    output = run_promtool("check", "rules", rule_file)
    assert f"SUCCESS: {len(rules)} rules found" in output
