#!/usr/bin/env bash
# make demo: starts Aurora whole on this machine (`aurora dev`: a cloud cluster, staging and prod
# target clusters, the control plane and an agent per target), then deploys potato-facts v1 to both
# targets and v2 as a canary, approving with Judgments, with kubectl only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
STATE="${ROOT}/.aurora/demo"
ASSETS="$(hack/test-binaries.sh | tail -n 1)"
KUBECTL="${ASSETS}/kubectl"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Building aurora"
go build -o bin/aurora ./cmd/aurora

step "Starting Aurora (aurora dev): cloud cluster, staging and prod clusters, control plane, agents"
rm -rf "${STATE}"
mkdir -p "${STATE}"
KUBEBUILDER_ASSETS="${ASSETS}" bin/aurora dev --state-dir "${STATE}" > "${STATE}.log" 2>&1 &
DEV_PID=$!
trap 'kill "${DEV_PID}" 2>/dev/null; wait "${DEV_PID}" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  [[ -f "${STATE}/ready" ]] && break
  kill -0 "${DEV_PID}" 2>/dev/null || { echo "aurora dev exited; see ${STATE}.log"; tail -20 "${STATE}.log"; exit 1; }
  sleep 0.5
done
[[ -f "${STATE}/ready" ]] || { echo "aurora dev did not become ready; see ${STATE}.log"; exit 1; }
cloud() { "${KUBECTL}" --kubeconfig "${STATE}/kubeconfig-cloud" "$@"; }
target() { local t="$1"; shift; "${KUBECTL}" --kubeconfig "${STATE}/kubeconfig-${t}" "$@"; }
state() { cloud -n aurora-demo-dev get deployments.deploy.aurora.dev "$1" -o jsonpath='{.status.state}'; }
wait_state() {
  local name="$1" want="$2"
  for _ in $(seq 1 600); do
    [[ "$(state "${name}")" == "${want}" ]] && return 0
    sleep 0.5
  done
  echo "timed out waiting for ${name} to be ${want}"; cloud -n aurora-demo-dev get adep "${name}" -o yaml; exit 1
}
wait_pending() {
  local name="$1" target="$2" gate="$3"
  for _ in $(seq 1 600); do
    cloud -n aurora-demo-dev get adep "${name}" -o jsonpath='{range .status.pendingApprovals[*]}{.target}/{.gate}{"\n"}{end}' | grep -qxF "${target}/${gate}" && return 0
    sleep 0.5
  done
  echo "timed out waiting for ${name} to wait on ${target}/${gate}"; exit 1
}
pods() { target "$1" -n potato-facts get pods -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sed 's/.*://' | sort | uniq -c | tr '\n' ' '; echo; }
approve() { sed -e "s/TARGET/$1/" -e "s/GATE/$2/" hack/demo/approve.yaml.tmpl | cloud create -f -; }

cloud get agents -A

step "Deploying potato-facts v1 to staging, then prod"
cloud apply --server-side -f hack/demo/potato-facts-v1.yaml
wait_state potato-facts-v1 SUCCEEDED
cloud -n aurora-demo-dev get adep potato-facts-v1
echo "staging: $(pods staging)"; echo "prod:    $(pods prod)"

step "Deploying potato-facts v2 as a canary: 25% → 50% → approval → 100%"
cloud apply --server-side -f hack/demo/potato-facts-v2.yaml
wait_pending potato-facts-v2 staging 'steps[3]'
cloud -n aurora-demo-dev get adep potato-facts-v2
echo "staging at 50%: $(pods staging)"

step "Approving staging's canary with a Judgment"
approve staging 'steps[3]'
wait_pending potato-facts-v2 prod 'beforeDeployment[0]'
echo "staging: $(pods staging)"; echo "prod (waiting for approval): $(pods prod)"

step "Approving prod, then its canary"
approve prod 'beforeDeployment[0]'
wait_pending potato-facts-v2 prod 'steps[3]'
echo "prod at 50%: $(pods prod)"
approve prod 'steps[3]'
wait_state potato-facts-v2 SUCCEEDED

step "Done"
cloud -n aurora-demo-dev get adep,judgments,rollouts.rollout.aurora.dev
echo "staging: $(pods staging)"; echo "prod:    $(pods prod)"
