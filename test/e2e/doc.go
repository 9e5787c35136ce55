// Package e2e holds the multi-cluster end-to-end suites: a cloud cluster and target clusters
// (internal/testcluster), the control plane and an agent per target, and deployments through them.
package e2e
