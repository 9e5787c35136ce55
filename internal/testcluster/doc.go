// Package testcluster starts real Kubernetes clusters for tests, without Docker.
//
// StartAPI runs an API-only cluster: envtest's etcd and kube-apiserver, with optional CRDs installed.
// StartFull adds kube-controller-manager, kube-scheduler and kwok with simulated nodes, so that
// workloads such as apps/v1 Deployments are reconciled: ReplicaSets scale, pods are scheduled and
// become Running and Ready (kwok simulates the kubelet). Several clusters can run at once; every port
// is picked free.
//
// Binaries come from BinaryDir: $KUBEBUILDER_ASSETS when it holds them, else
// <repo root>/hack/test-binaries.sh, which builds them from source once per machine (12-15 minutes
// cold, so a first `go test` may need a longer -timeout, or run the script beforehand).
//
// # Cleanup
//
// Cluster.Stop stops every process, children first, then kube-apiserver, then etcd, and removes the
// cluster's working directory. Call it from DeferCleanup or t.Cleanup. For the paths where Stop never
// runs (a panic that kills the test binary, `go test -timeout`, SIGINT/SIGTERM without a handler,
// SIGKILL):
//
//   - every process runs in its own process group with a parent-death signal (SIGKILL), so the
//     kernel kills it when the test process dies. envtest starts etcd and kube-apiserver itself,
//     so they are started through a small wrapper script that execs the binary under
//     `setpriv --pdeathsig KILL` (util-linux);
//   - each cluster's working directory, under $TMPDIR/aurora-testcluster, records the test process
//     that owns it and the pid of every process it started. Every Start first reaps directories
//     whose owner is gone: it SIGKILLs the recorded processes whose command line still names that
//     directory (so a reused pid is never hit) and removes the directory.
//
// Options.DataDir keeps etcd's data and the API server's service-account signing key in a directory
// that Stop leaves: a later start on it comes back with the same objects (`aurora dev` restarts so).
//
// Set AURORA_TESTCLUSTER_KEEP_DIR=true to keep a cluster's directory (logs, kubeconfigs) after Stop.
//
// The package is Linux-only: it relies on /proc, process groups and parent-death signals.
package testcluster
