# Aurora — continuous deployment for Kubernetes, as an operator.
#
#   make demo    run a sample canary deployment on the embedded default (`aurora dev`)
#   make test    run the tests against real Kubernetes control planes built from source
#
# Every version is pinned here, in one place.

# Image of the aurora binary.
IMG ?= ghcr.io/aurora-cd/aurora:dev
# Version of the OLM bundle.
VERSION ?= 0.1.0

# Kubernetes test binaries (built from source by hack/test-binaries.sh, cached under bin/).
KUBE_VERSION ?= v1.37.2
STAGING_VERSION ?= v0.37.2
ETCD_VERSION ?= v3.7.0
KWOK_VERSION ?= v0.8.0
# Code generators and deploy tools.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.1
BUF_VERSION ?= v1.75.0
PROTOC_GEN_GO_VERSION ?= v1.36.12
PROTOC_GEN_GO_GRPC_VERSION ?= v1.6.0

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
export GOTOOLCHAIN = local

LOCALBIN ?= $(CURDIR)/bin
TOOLBIN ?= $(LOCALBIN)/tools
CONTROLLER_GEN ?= $(TOOLBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(TOOLBIN)/kustomize-$(KUSTOMIZE_VERSION)
BUF ?= $(TOOLBIN)/buf-$(BUF_VERSION)
PROTOC_GEN_GO ?= $(TOOLBIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
PROTOC_GEN_GO_GRPC ?= $(TOOLBIN)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
TEST_BINARIES = KUBE_VERSION=$(KUBE_VERSION) STAGING_VERSION=$(STAGING_VERSION) ETCD_VERSION=$(ETCD_VERSION) KWOK_VERSION=$(KWOK_VERSION) hack/test-binaries.sh
# Directory of the test binaries; building them on first use.
TEST_ASSETS = $$($(TEST_BINARIES) | tail -n 1)
KUBECTL = $(TEST_ASSETS)/kubectl

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and the manager's ClusterRole from the Go types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:allowDangerousTypes=true paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: controller-gen proto-tools ## Generate DeepCopy methods and the tunnel's protobuf and gRPC code (buf.gen.yaml).
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."
	$(BUF) generate

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: test-binaries
test-binaries: ## Build (once) kube-apiserver, etcd, kubectl, kube-controller-manager, kube-scheduler and kwok.
	@$(TEST_BINARIES)

.PHONY: test
test: fmt vet test-binaries proto-tools controller-gen ## Run the tests (API and full clusters on real control planes; checks generated code is current).
	KUBEBUILDER_ASSETS="$(TEST_ASSETS)" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=120s \
		go test ./... -count=1 -timeout 30m -coverprofile cover.out
	$(MAKE) fuzz

.PHONY: test-e2e
test-e2e: test-binaries ## Run only the multi-cluster suites (cloud + target clusters; also part of make test).
	KUBEBUILDER_ASSETS="$(TEST_ASSETS)" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=120s \
		go test ./test/... -count=1 -timeout 30m -v

# How much each fuzz target runs in make fuzz (part of make test): by default a number of inputs per
# target, about 20 s each on 2 cores (a count has no deadline for Go 1.26's fuzzing coordinator to
# race at the end, golang/go#75804); set FUZZ_TIME (such as 5m) for a longer, timed run. An input
# that finds new coverage is minimized for at most FUZZ_MINIMIZE_TIME (Go's default, 60 s, would
# spend the whole run minimizing).
FUZZ_TIME ?=
FUZZ_MINIMIZE_TIME ?= 1s
fuzz_budget = -fuzztime $(if $(FUZZ_TIME),$(FUZZ_TIME),$(1)) -fuzzminimizetime $(FUZZ_MINIMIZE_TIME)

.PHONY: fuzz
fuzz: ## Fuzz each target (FUZZ_TIME): deploy.yml decoding and validation, the Hub's and the agent's tunnel messages, the token verifier.
	go test ./controllers/deployment -run '^$$' -fuzz '^FuzzDeploySpec$$' $(call fuzz_budget,30000x)
	go test ./hub -run '^$$' -fuzz '^FuzzAgentMessage$$' $(call fuzz_budget,50000x)
	go test ./rna -run '^$$' -fuzz '^FuzzHubMessage$$' $(call fuzz_budget,50000x)
	go test ./auth/verify -run '^$$' -fuzz '^FuzzVerify$$' $(call fuzz_budget,80000x)

# Fleet sizes of the Hub benchmark.
BENCH_AGENTS ?= 100,1000,10000

# Deployments created at once by the concurrency benchmark.
BENCH_DEPLOYMENTS ?= 50

# Directory of the benchmark report (latest.json, latest.md, latest.log).
BENCH_RESULTS ?= bench/results

.PHONY: bench
bench: test-binaries ## Run every benchmark and write a report beside the aims: the Hub (BENCH_AGENTS), the controllers, end to end (canary vs floor).
	KUBEBUILDER_ASSETS="$(TEST_ASSETS)" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=120s \
		go run ./hack/benchreport -out $(BENCH_RESULTS) -agents $(BENCH_AGENTS) -deployments $(BENCH_DEPLOYMENTS)

##@ Build

.PHONY: build
build: fmt vet ## Build the aurora binary into bin/aurora.
	go build -o $(LOCALBIN)/aurora ./cmd/aurora

.PHONY: run
run: fmt vet ## Run the controller manager against the cluster of the current kubeconfig.
	go run ./cmd/aurora controller

.PHONY: screenshots
screenshots: test-binaries ## Drive the Console in headless Chromium through a canary on Aurora whole and save each page into docs/screenshots.
	AURORA_SCREENSHOTS_DIR="$(CURDIR)/docs/screenshots" KUBEBUILDER_ASSETS="$(TEST_ASSETS)" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=120s \
		go test ./test/console/ -count=1 -timeout 20m

.PHONY: demo
demo: test-binaries ## Run a sample canary deployment on the embedded default (aurora dev), with kubectl only.
	hack/demo.sh

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the container image.
	docker push $(IMG)

.PHONY: bundle
bundle: ## Generate the OLM bundle into bundle/ and validate it with operator-framework/api.
	go run ./hack/bundle -version $(VERSION) -image $(IMG)
	go test ./test/bundle/ -count=1

.PHONY: bundle-build
bundle-build: ## Build the bundle image (needs a Docker engine).
	docker build -f bundle/bundle.Dockerfile -t $(IMG:%:dev=%-bundle:v$(VERSION)) bundle

##@ Deployment

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs from the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the control plane into the cluster of the current kubeconfig.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	cd config/hub && $(KUSTOMIZE) edit set image aurora=$(IMG)
	cd config/auth && $(KUSTOMIZE) edit set image aurora=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the control plane from the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

##@ Tools

.PHONY: tools
tools: controller-gen kustomize proto-tools test-binaries ## Install every tool the Makefile uses into bin/.

.PHONY: proto-tools
proto-tools: $(BUF) $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC) ## Install buf and the protobuf Go plugins.
$(BUF):
	$(call go-install-tool,$(BUF),github.com/bufbuild/buf/cmd/buf,$(BUF_VERSION))
$(PROTOC_GEN_GO):
	$(call go-install-tool,$(PROTOC_GEN_GO),google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION))
$(PROTOC_GEN_GO_GRPC):
	$(call go-install-tool,$(PROTOC_GEN_GO_GRPC),google.golang.org/grpc/cmd/protoc-gen-go-grpc,$(PROTOC_GEN_GO_GRPC_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN)
$(CONTROLLER_GEN):
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: kustomize
kustomize: $(KUSTOMIZE)
$(KUSTOMIZE):
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

# go-install-tool installs package $2 at version $3 as the versioned file $1.
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
mkdir -p $(TOOLBIN); \
echo "Installing $(2)@$(3)"; \
tmp=$$(mktemp -d); \
GOBIN="$$tmp" go install "$(2)@$(3)"; \
mv "$$tmp"/* "$(1)"; \
rmdir "$$tmp"; \
}
endef
