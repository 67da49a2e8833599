#!/usr/bin/env bash
# lints the deployment assets with tools from Debian (and node): yamllint for the plain YAML, docker compose's own
# validation for the compose file, systemd-analyze for the unit, shellcheck for this script, node for the Datadog
# JSON. installs nothing: a missing tool is named with its Debian package, and the run fails.
#   apt-get install -y yamllint shellcheck docker-compose   (systemd-analyze comes with systemd)
# helm is in neither npm nor Debian: when it is on PATH the chart is linted and rendered too, otherwise skipped
# (test/deploy/helm.test.ts checks the templates as text). the structural checks live in test/deploy/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

failed=0
missing=()
step() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }
have() { command -v "$1" >/dev/null 2>&1; }

step "yamllint: chart values and metadata, compose file"
if have yamllint; then
  yamllint --strict -c deploy/.yamllint \
    deploy/.yamllint \
    deploy/helm/teleport-datadog-forwarder/Chart.yaml \
    deploy/helm/teleport-datadog-forwarder/values.yaml \
    deploy/compose/docker-compose.yml || fail "yamllint"
else
  missing+=("yamllint (apt-get install yamllint)")
fi

step "compose: docker compose config"
compose=()
if have docker && docker compose version >/dev/null 2>&1; then compose=(docker compose)
elif have docker-compose; then compose=(docker-compose)
fi
if [ ${#compose[@]} -gt 0 ]; then
  # validation only: no engine is needed. TELEPORT_VERSION is required by the file, any value does here
  (cd deploy/compose && TELEPORT_VERSION=0.0.0 "${compose[@]}" -f docker-compose.yml config -q) || fail "compose config"
else
  missing+=("docker-compose (apt-get install docker-compose)")
fi

step "systemd: systemd-analyze verify and security"
unit=deploy/systemd/teleport-datadog-forwarder.service
if have systemd-analyze; then
  # verify exits 0 on unknown keys and bad values and only prints a warning: any output is a failure
  out=$(systemd-analyze verify "$unit" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out"
    fail "systemd-analyze verify (exit $rc)"
  fi
  # exposure on the 0-100 scale (systemd prints it divided by 10): the unit rates about 17
  systemd-analyze security --offline=true --threshold=30 "$unit" >/dev/null 2>&1 \
    || { systemd-analyze security --offline=true "$unit" 2>&1 | tail -n 3; fail "systemd-analyze security: exposure above 3.0"; }
else
  missing+=("systemd-analyze (apt-get install systemd)")
fi

step "datadog: JSON files parse"
for f in deploy/datadog/*.json deploy/datadog/monitors/*.json; do
  node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$f" || fail "$f is not JSON"
done

step "shellcheck: this script"
if have shellcheck; then
  shellcheck deploy/lint.sh || fail "shellcheck"
else
  missing+=("shellcheck (apt-get install shellcheck)")
fi

step "helm: lint and template (optional)"
if have helm; then
  chart=deploy/helm/teleport-datadog-forwarder
  helm lint "$chart" --set datadog.apiKey.value=lint || fail "helm lint"
  helm template lint "$chart" --set datadog.apiKey.value=lint --set teleport.enabled=true --set serviceMonitor.enabled=true >/dev/null \
    || fail "helm template"
else
  echo "helm not on PATH (not packaged in npm or Debian): chart templates checked by test/deploy/helm.test.ts only"
fi

if [ ${#missing[@]} -gt 0 ]; then
  printf 'MISSING: %s\n' "${missing[@]}"
  failed=1
fi
if [ $failed -ne 0 ]; then
  echo "deploy/lint.sh: FAILED"
  exit 1
fi
echo "deploy/lint.sh: all checks passed"
