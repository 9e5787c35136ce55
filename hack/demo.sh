#!/usr/bin/env bash
# make demo: starts Aurora whole on this machine (`aurora dev`: a cloud cluster, staging and prod
# target clusters, the control plane with the REST API and the Console, an agent per target), then
# deploys the sample application examples/potato-facts with the aurora CLI — v1, then v2 as a canary
# to staging and prod — following each with `aurora deploy start --watch` and approving the gates with
# `aurora deploy approve`. It leaves Aurora running with the Console's URL on screen; Ctrl-C stops it.
# AURORA_DEMO_EXIT=1 stops it at the end instead (for scripts).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
STATE="${AURORA_DEMO_STATE:-${ROOT}/.aurora/dev}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Building the Kubernetes test binaries (the first time: about 10 minutes on 2 cores)"
ASSETS="$(hack/test-binaries.sh | tail -n 1)"

step "Building aurora"
go build -o bin/aurora ./cmd/aurora
AURORA="${ROOT}/bin/aurora"
export AURORA_CONFIG="${STATE}/config"

step "Starting Aurora (aurora dev): cloud cluster, staging and prod clusters, control plane, agents"
mkdir -p "${STATE}"
rm -f "${STATE}/ready"
KUBEBUILDER_ASSETS="${ASSETS}" "${AURORA}" dev --state-dir "${STATE}" > "${STATE}.log" 2>&1 &
DEV_PID=$!
trap 'kill "${DEV_PID}" 2>/dev/null; wait "${DEV_PID}" 2>/dev/null || true' EXIT
for _ in $(seq 1 1200); do
  [[ -f "${STATE}/ready" ]] && break
  kill -0 "${DEV_PID}" 2>/dev/null || { echo "aurora dev exited; see ${STATE}.log"; tail -20 "${STATE}.log"; exit 1; }
  sleep 0.5
done
[[ -f "${STATE}/ready" ]] || { echo "aurora dev did not become ready; see ${STATE}.log"; exit 1; }
# json_field FILE KEY prints the string value of a top-level key of a small JSON file.
json_field() { sed -n "s/^ *\"$2\": *\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1; }

"${AURORA}" agents list

# deploy DIR follows `aurora deploy start -f DIR/deploy.yml --watch` and approves each gate that
# waits, a few seconds after it starts waiting, until the deployment ends.
deploy() {
  local dir="$1" log="${STATE}/demo-watch.log" id="" status="" rc=0
  : > "${log}"
  # Piped, --watch prints a line per change instead of redrawing in place, so that the approvals
  # below can be printed between its lines.
  "${AURORA}" deploy start -f "${dir}/deploy.yml" --watch --poll-interval 1s 2>&1 | tee "${log}" &
  local watch_pid=$!
  for _ in $(seq 1 60); do
    id="$(sed -n 's/^Deployment ID: //p' "${log}")"
    [[ -n "${id}" ]] && break
    sleep 0.5
  done
  [[ -n "${id}" ]] || { wait "${watch_pid}" || true; echo "the deployment did not start"; exit 1; }
  while kill -0 "${watch_pid}" 2>/dev/null; do
    status="$("${AURORA}" deploy status "${id}" -o json 2>/dev/null | json_field /dev/stdin status || true)"
    if [[ "${status}" == "AWAITING_APPROVAL" ]]; then
      sleep 3
      printf '\033[1m  -> aurora deploy approve %s\033[0m\n' "${id}"
      "${AURORA}" deploy approve "${id}" --reason "approved by make demo" >/dev/null 2>&1 || true
    fi
    sleep 1
  done
  wait "${watch_pid}" || rc=$?
  (( rc == 0 )) || { echo "the deployment ${id} did not succeed (exit code ${rc})"; exit 1; }
  "${AURORA}" deploy status "${id}"
}

step "Deploying potato-facts v1 to staging, then prod (aurora deploy start -f examples/potato-facts/deploy.yml --watch)"
deploy examples/potato-facts

step "Deploying potato-facts v2 as a canary: 25% -> 50% -> approval -> 100%, prod behind an approval"
rm -rf "${STATE}/potato-facts-v2"
cp -r examples/potato-facts "${STATE}/potato-facts-v2"
sed -i 's/potato-facts:v1/potato-facts:v2/' "${STATE}/potato-facts-v2/manifests/potato-facts.yaml"
deploy "${STATE}/potato-facts-v2"

console="$(json_field "${STATE}/endpoints.json" console)"
user="$(json_field "${STATE}/credentials.json" user)"
password="$(json_field "${STATE}/credentials.json" password)"
step "Done: potato-facts v2 runs on staging and prod"
cat <<EOF
  Console:  ${console}   (log in as ${user:-demo} / ${password:-see ${STATE}/credentials.json}; trust ${STATE}/ca.crt)
  CLI:      AURORA_CONFIG=${STATE}/config bin/aurora deploy start -f examples/potato-facts/deploy.yml --watch
  kubectl:  kubectl --kubeconfig ${STATE}/kubeconfig-cloud get aurora -A
EOF
if [[ "${AURORA_DEMO_EXIT:-}" == "1" ]]; then
  exit 0
fi
echo "Aurora keeps running; press Ctrl-C to stop it."
wait "${DEV_PID}"
