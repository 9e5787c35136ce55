package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// defaultStartTimeout bounds each start phase (etcd, kube-apiserver, CRDs, nodes): generous, because
// on 2 cores several test packages start clusters in parallel.
const defaultStartTimeout = 120 * time.Second

// stopTimeout bounds how long a process may take to stop after SIGTERM before it is SIGKILLed.
const stopTimeout = 20 * time.Second

// controlPlaneAttempts is how often a control plane start that failed quickly (a port taken between
// being picked and being bound, say) is tried.
const controlPlaneAttempts = 3

// startTimeout returns the time a start phase may take: $KUBEBUILDER_CONTROLPLANE_START_TIMEOUT when
// set, else defaultStartTimeout, and never beyond ctx's deadline.
func startTimeout(ctx context.Context) time.Duration {
	timeout := defaultStartTimeout
	if fromEnv, err := time.ParseDuration(os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT")); err == nil && fromEnv > 0 {
		timeout = fromEnv
	}
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	return max(timeout, time.Second)
}

// startControlPlane starts envtest's etcd and kube-apiserver with their working directories, logs and
// wrapper scripts in the cluster directory dir. A start that fails quickly is retried with fresh ports.
func startControlPlane(ctx context.Context, dir, binDir, dataDir string) (*envtest.ControlPlane, error) {
	logs := map[string]string{
		etcdBinary:      filepath.Join(dir, "logs", etcdBinary+".log"),
		apiServerBinary: filepath.Join(dir, "logs", apiServerBinary+".log"),
	}
	wrappers := map[string]string{}
	for _, component := range []string{etcdBinary, apiServerBinary} {
		wrappers[component] = filepath.Join(dir, "bin", component)
		if err := writeProcessWrapper(wrappers[component], filepath.Join(binDir, component), filepath.Join(dir, pidsFileName), component); err != nil {
			return nil, err
		}
	}

	var errs []error
	for attempt := 1; attempt <= controlPlaneAttempts; attempt++ {
		plane, began, err := startControlPlaneAttempt(ctx, dir, dataDir, attempt, wrappers, logs)
		if err == nil {
			return plane, nil
		}
		failedComponent := apiServerBinary
		if strings.Contains(err.Error(), "process "+etcdBinary) {
			failedComponent = etcdBinary
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w%s", attempt, err, describeLogTail(logs[failedComponent])))
		if plane != nil {
			if stopErr := plane.Stop(); stopErr != nil {
				errs = append(errs, fmt.Errorf("stop after failed attempt %d: %w", attempt, stopErr))
			}
		}
		if ctx.Err() != nil || time.Since(began) > startTimeout(ctx)/2 {
			break // not a quick failure: another attempt would most likely fail the same way
		}
	}
	return nil, fmt.Errorf("start etcd and kube-apiserver: %w", errors.Join(errs...))
}

// startControlPlaneAttempt makes one attempt at starting etcd and kube-apiserver, with fresh
// directories (or, with a persistent data directory, the same ones) and ports and truncated logs. It
// returns the control plane (also on error, to be stopped) and when the attempt began.
func startControlPlaneAttempt(ctx context.Context, dir, persistentDir string, attempt int, wrappers, logs map[string]string) (*envtest.ControlPlane, time.Time, error) {
	began := time.Now()
	logFiles := map[string]*os.File{}
	defer func() {
		for _, f := range logFiles {
			_ = f.Close() // the processes hold their own descriptors
		}
	}()
	for component, path := range logs {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, began, fmt.Errorf("open %s log: %w", component, err)
		}
		logFiles[component] = f
	}
	timeout := startTimeout(ctx)
	certDir := filepath.Join(dir, fmt.Sprintf("kube-apiserver-%d", attempt))
	dataDir := filepath.Join(dir, fmt.Sprintf("etcd-%d", attempt))
	if persistentDir != "" {
		certDir, dataDir = filepath.Join(persistentDir, persistentAPIServerDir), filepath.Join(persistentDir, persistentEtcdDir)
	}
	for _, d := range []string{certDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, began, fmt.Errorf("create control plane directory: %w", err)
		}
	}
	var servingCA []byte
	if persistentDir != "" {
		var err error
		if servingCA, err = preparePersistentCertDir(certDir); err != nil {
			return nil, began, err
		}
	}
	plane := &envtest.ControlPlane{
		Etcd: &envtest.Etcd{
			Path: wrappers[etcdBinary], DataDir: dataDir,
			Out: logFiles[etcdBinary], Err: logFiles[etcdBinary],
			StartTimeout: timeout, StopTimeout: stopTimeout,
		},
		APIServer: &envtest.APIServer{
			Path: wrappers[apiServerBinary], CertDir: certDir,
			Out: logFiles[apiServerBinary], Err: logFiles[apiServerBinary],
			StartTimeout: timeout, StopTimeout: stopTimeout,
		},
	}
	if servingCA != nil {
		// envtest keeps the serving certificate it finds in CertDir and then trusts only this CA.
		plane.APIServer.SecureServing.CA = servingCA
	}
	return plane, began, plane.Start() // Start returns before the deferred Close
}

// setprivPath finds util-linux's setpriv, which the wrapper scripts use to set a parent-death signal.
var setprivPath = sync.OnceValue(func() string {
	path, _ := exec.LookPath("setpriv")
	return path
})

// writeProcessWrapper writes an executable script at path that appends its pid to pidFile and then
// execs binary with the script's arguments under `setpriv --pdeathsig KILL`, so the process keeps the
// pid and dies with its parent (the test process). envtest starts etcd and kube-apiserver itself and
// offers no hook to set a parent-death signal; the script is its "binary". Without setpriv the binary
// runs without one, and only the reaper cleans up after a killed test process.
func writeProcessWrapper(path, binary, pidFile, component string) error {
	var withDeathSignal string
	if setpriv := setprivPath(); setpriv != "" {
		withDeathSignal = shellQuote(setpriv) + " --pdeathsig KILL -- "
	}
	script := fmt.Sprintf(`#!/bin/sh
# Written by internal/testcluster: records this process for the reaper, then runs %[1]s so that it
# dies with the test process that started it.
echo "$$ %[1]s" >> %[2]s
exec %[3]s%[4]s "$@"
`, component, shellQuote(pidFile), withDeathSignal, shellQuote(binary))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s wrapper: %w", component, err)
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return fmt.Errorf("write %s wrapper: %w", component, err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// provisionUser adds a system:masters user to the control plane and returns its REST config.
func provisionUser(plane *envtest.ControlPlane, name string) (*rest.Config, error) {
	user, err := plane.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}},
		&rest.Config{QPS: 1000, Burst: 2000}) // a test API server needs no client-side throttling
	if err != nil {
		return nil, fmt.Errorf("provision user %s: %w", name, err)
	}
	return user.Config(), nil
}

// waitForDefaultNamespace waits until the API server has created the default namespace, which it does
// shortly after it first reports healthy.
func waitForDefaultNamespace(ctx context.Context, c client.Client) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, startTimeout(ctx), true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, types.NamespacedName{Name: metav1.NamespaceDefault}, &corev1.Namespace{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the default namespace: %w", err)
	}
	return nil
}

// installCRDs installs the CRDs found in paths (directories or files; each must exist) and waits until
// they are served.
func installCRDs(ctx context.Context, cfg *rest.Config, paths []string, scheme *runtime.Scheme) error {
	if len(paths) == 0 {
		return nil
	}
	_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{
		Paths:              paths,
		ErrorIfPathMissing: true,
		Scheme:             scheme,
		MaxTime:            startTimeout(ctx),
	})
	if err != nil {
		return fmt.Errorf("install CRDs from %s: %w", strings.Join(paths, ", "), err)
	}
	return nil
}
