#!/usr/bin/env bash
# Builds the Kubernetes test binaries (kube-apiserver, etcd, kubectl, kube-controller-manager,
# kube-scheduler, kwok) for one pinned Kubernetes version from source through the Go module proxy,
# and caches them under bin/. Prints the directory that holds them on its last line.
#
# Nothing is rebuilt when the binary already exists. When KUBEBUILDER_ASSETS already holds every
# binary, that directory is used as is. Parallel callers are serialised with a lock.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
STAGING_VERSION="${STAGING_VERSION:-v0.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${TEST_BINARIES_DIR:-${ROOT}/bin/k8s/${KUBE_VERSION#v}-$(go env GOOS)-$(go env GOARCH)}"
BINARIES=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok)

log() { echo "test-binaries: $*" >&2; }

have_all() {
  local dir="$1" b
  for b in "${BINARIES[@]}"; do [[ -x "${dir}/${b}" ]] || return 1; done
  [[ -d "${dir}/kwok-stages" ]] || return 1
}

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && have_all "${KUBEBUILDER_ASSETS}"; then
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi

mkdir -p "${BIN_DIR}"
exec 9>"${BIN_DIR}/.lock"
flock 9

if have_all "${BIN_DIR}"; then
  echo "${BIN_DIR}"
  exit 0
fi

WRAP="${BIN_DIR}/.build"
mkdir -p "${WRAP}"
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN=local

if [[ ! -f "${WRAP}/go.sum" ]]; then
  log "preparing a wrapper module for k8s.io/kubernetes ${KUBE_VERSION} (staging modules at ${STAGING_VERSION})"
  rm -f "${WRAP}/go.mod"
  (cd "${WRAP}" && go mod init aurora.dev/test-binaries >/dev/null 2>&1)
  kube_gomod="$(cd "${WRAP}" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
  [[ -f "${kube_gomod}" ]] || { log "cannot find k8s.io/kubernetes go.mod"; exit 1; }
  # Every staging module that k8s.io/kubernetes replaces with a local path gets the published version.
  replaces=()
  while read -r mod; do
    replaces+=("-replace=${mod}=${mod}@${STAGING_VERSION}")
  done < <(grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' "${kube_gomod}" | awk '{print $1}')
  (( ${#replaces[@]} > 0 )) || { log "no staging replaces found in ${kube_gomod}"; exit 1; }
  log "${#replaces[@]} staging modules replaced"
  (cd "${WRAP}" && go mod edit "${replaces[@]}" \
      -require="k8s.io/kubernetes@${KUBE_VERSION}" -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}")
  cat > "${WRAP}/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (cd "${WRAP}" && go mod tidy) || { rm -f "${WRAP}/go.sum"; exit 1; }
fi

minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
stamp="k8s.io/component-base/version"
ldflags="-s -w -X ${stamp}.gitVersion=${KUBE_VERSION} -X ${stamp}.gitMajor=1 -X ${stamp}.gitMinor=${minor} -X ${stamp}.gitTreeState=clean -X ${stamp}.buildDate=1970-01-01T00:00:00Z"
# kubectl reads its version from the client-go copy of the version package.
ldflags="${ldflags} -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION} -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${minor}"

build() {
  local name="$1" pkg="$2" start
  if [[ -x "${BIN_DIR}/${name}" ]]; then log "${name}: cached"; return; fi
  start=$(date +%s)
  log "${name}: building ${pkg} ..."
  (cd "${WRAP}" && go build -ldflags "${ldflags}" -o "${BIN_DIR}/${name}.tmp" "${pkg}")
  mv "${BIN_DIR}/${name}.tmp" "${BIN_DIR}/${name}"
  log "${name}: built in $(( $(date +%s) - start ))s"
}

build etcd go.etcd.io/etcd/server/v3
log "kube-apiserver takes 4-8 minutes cold on 2 cores; the whole set about 12-15 minutes"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubectl k8s.io/kubernetes/cmd/kubectl
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler

if [[ ! -x "${BIN_DIR}/kwok" ]]; then
  start=$(date +%s)
  log "kwok: building sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION} (about 4 minutes cold) ..."
  tmp="${BIN_DIR}/.kwok-gobin"
  (cd "${WRAP}" && GOFLAGS= GOBIN="${tmp}" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
  mv "${tmp}/kwok" "${BIN_DIR}/kwok"
  rmdir "${tmp}" 2>/dev/null || true
  log "kwok: built in $(( $(date +%s) - start ))s"
fi

if [[ ! -d "${BIN_DIR}/kwok-stages" ]]; then
  kwok_dir="$(cd "${WRAP}" && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')"
  mkdir -p "${BIN_DIR}/kwok-stages.tmp"
  cp "${kwok_dir}"/kustomize/stage/node/fast/node-initialize.yaml \
     "${kwok_dir}"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
     "${kwok_dir}"/kustomize/stage/pod/fast/pod-ready.yaml \
     "${kwok_dir}"/kustomize/stage/pod/fast/pod-complete.yaml \
     "${kwok_dir}"/kustomize/stage/pod/fast/pod-delete.yaml "${BIN_DIR}/kwok-stages.tmp/"
  chmod -R u+w "${BIN_DIR}/kwok-stages.tmp"
  mv "${BIN_DIR}/kwok-stages.tmp" "${BIN_DIR}/kwok-stages"
fi

"${BIN_DIR}/kube-apiserver" --version >&2
echo "${BIN_DIR}"
