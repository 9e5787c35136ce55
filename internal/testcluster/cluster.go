package testcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// keepDirEnv, when "true", makes Stop keep a cluster's directory (logs, kubeconfigs) for inspection.
const keepDirEnv = "AURORA_TESTCLUSTER_KEEP_DIR"

// Options configure a cluster. The zero value is valid.
type Options struct {
	// Name names the cluster in its kubeconfig context, its directory and error messages.
	// Default: "cluster".
	Name string
	// CRDDirectoryPaths are directories (or files) of CRD manifests to install; each must exist.
	CRDDirectoryPaths []string
	// Scheme is the scheme of the returned Client and of CRD installation.
	// Default: client-go's scheme.Scheme.
	Scheme *runtime.Scheme
	// Nodes is how many simulated nodes a full cluster gets; StartAPI ignores it. Default: 3.
	Nodes int
	// DataDir, when set, is a persistent directory for etcd's data and the API server's
	// service-account signing key: Stop leaves it, and a later start with the same DataDir comes back
	// with the same objects (on new ports, with new serving and client certificates). Empty: both
	// live in the cluster's temporary directory, which Stop removes.
	DataDir string
}

// Cluster is a running cluster. Call Stop when done, typically from DeferCleanup or t.Cleanup.
type Cluster struct {
	// Name is Options.Name (defaulted); the kubeconfig's context is "testcluster-<Name>".
	Name string
	// Kind says whether the cluster is API-only or full.
	Kind ClusterKind
	// Config is an admin (system:masters) REST config.
	Config *rest.Config
	// Client is a controller-runtime client with Options.Scheme and admin rights.
	Client client.Client
	// KubeconfigPath is a kubeconfig file with the admin credentials, for kubectl or child processes.
	KubeconfigPath string
	// BinaryDir holds the binaries the cluster runs (see BinaryDir).
	BinaryDir string
	// Dir is the cluster's working directory: certificates, etcd data, kubeconfigs, and the processes'
	// logs in Dir/logs. Stop removes it unless AURORA_TESTCLUSTER_KEEP_DIR=true.
	Dir string
	// NodeNames are the simulated nodes of a full cluster.
	NodeNames []string

	controlPlane *envtest.ControlPlane
	children     []*childProcess // in start order
	processes    []Process

	stopOnce sync.Once
	stopErr  error
}

// Process is a process a cluster runs.
type Process struct {
	// Component is the binary's name: etcd, kube-apiserver, kube-controller-manager, kube-scheduler or kwok.
	Component string
	// PID is its process id (the leader of its own process group).
	PID int
}

// StartAPI starts an API-only cluster: etcd and kube-apiserver via envtest, with Options.CRDDirectoryPaths
// installed. It returns once the API serves (the default namespace exists, CRDs are served). On error
// nothing it started is left running. ctx bounds the start, including a first build of the binaries.
func StartAPI(ctx context.Context, opts Options) (*Cluster, error) {
	return start(ctx, APIOnly, opts)
}

// StartFull starts a full cluster: StartAPI's control plane plus kube-controller-manager,
// kube-scheduler and kwok, with Options.Nodes simulated nodes (annotated kwok.x-k8s.io/node=fake).
// It returns once every node is Ready and kube-controller-manager runs its controllers. Workloads then
// behave as on a real cluster, except that containers never run: kwok marks scheduled pods Running and
// Ready at once, with IPs from 10.244.0.0/16, and deletes terminating pods. Any image name works.
func StartFull(ctx context.Context, opts Options) (*Cluster, error) {
	return start(ctx, Full, opts)
}

// start starts a cluster of the given kind; on error it stops what it started.
func start(ctx context.Context, kind ClusterKind, opts Options) (_ *Cluster, err error) {
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	if opts.Scheme == nil {
		opts.Scheme = scheme.Scheme
	}
	if opts.Nodes <= 0 {
		opts.Nodes = defaultNodes
	}

	binDir, err := BinaryDir(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("start cluster %s: %w", opts.Name, err)
	}
	if _, err := reapOrphans(stateRoot()); err != nil {
		// Leftovers cost memory and disk but do not stop this cluster from working.
		fmt.Fprintf(os.Stderr, "testcluster: cleaning up after earlier test processes: %v\n", err)
	}
	dir, err := createWorkDir(stateRoot(), opts.Name)
	if err != nil {
		return nil, fmt.Errorf("start cluster %s: %w", opts.Name, err)
	}
	c := &Cluster{Name: opts.Name, Kind: kind, BinaryDir: binDir, Dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("start %s cluster %s: %w", kind, opts.Name, err), c.Stop())
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}

	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	if c.controlPlane, err = startControlPlane(ctx, dir, binDir, opts.DataDir); err != nil {
		return nil, err
	}
	c.recordControlPlaneProcesses()
	if c.Config, err = provisionUser(c.controlPlane, "admin"); err != nil {
		return nil, err
	}
	c.KubeconfigPath = filepath.Join(dir, "admin.kubeconfig")
	if err := writeKubeconfig(c.KubeconfigPath, "testcluster-"+c.Name, c.Config); err != nil {
		return nil, err
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: opts.Scheme}); err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	if err := waitForDefaultNamespace(ctx, c.Client); err != nil {
		return nil, err
	}
	if err := installCRDs(ctx, c.Config, opts.CRDDirectoryPaths, opts.Scheme); err != nil {
		return nil, err
	}
	if kind == Full {
		if err := c.startFullClusterComponents(ctx, opts.Nodes); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// startFullClusterComponents starts kube-controller-manager, kube-scheduler and kwok, creates the
// simulated nodes and waits for them.
func (c *Cluster) startFullClusterComponents(ctx context.Context, nodes int) error {
	componentsConfig, err := provisionUser(c.controlPlane, componentsUserName)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(c.Dir, componentsUserName+".kubeconfig")
	if err := writeKubeconfig(kubeconfig, "testcluster-"+c.Name, componentsConfig); err != nil {
		return err
	}
	// The API server signs service account tokens with this key; the token controller needs it too.
	serviceAccountKey := filepath.Join(c.controlPlane.APIServer.CertDir, "sa-signer.key")
	components := fullClusterComponents(kubeconfig, serviceAccountKey, filepath.Join(c.BinaryDir, kwokStagesDir))

	c.children, err = startComponents(c.Dir, c.BinaryDir, components)
	for _, child := range c.children {
		c.processes = append(c.processes, Process{Component: child.name, PID: child.pid()})
	}
	if err != nil {
		return err
	}
	if c.NodeNames, err = createSimulatedNodes(ctx, c.Client, nodes); err != nil {
		return err
	}
	return waitForFullClusterReady(ctx, c.Client, c.NodeNames, c.children)
}

// recordControlPlaneProcesses notes the pids of etcd and kube-apiserver, which their wrapper scripts
// wrote to the pid file. The last line of each component wins: envtest first runs each binary with
// --help to probe its flags.
func (c *Cluster) recordControlPlaneProcesses() {
	recorded, err := readPIDFile(c.Dir)
	if err != nil {
		return // only Processes() loses these; the reaper reads the file itself
	}
	for _, component := range []string{etcdBinary, apiServerBinary} {
		for i := len(recorded) - 1; i >= 0; i-- {
			if recorded[i].Component == component {
				c.processes = append(c.processes, Process{Component: component, PID: recorded[i].PID})
				break
			}
		}
	}
}

// Processes returns the processes the cluster started, in start order. The list stays valid after Stop,
// so a test can check that they are gone.
func (c *Cluster) Processes() []Process {
	return append([]Process(nil), c.processes...)
}

// CheckRunning returns nil while every process the cluster started runs, and otherwise an error that
// names the first one that stopped, with the end of its log. Use it to tell a crashed component from a
// slow test when a wait times out.
func (c *Cluster) CheckRunning() error {
	for _, p := range c.processes {
		if p.Component == etcdBinary || p.Component == apiServerBinary {
			if !commandLineMentions(p.PID, c.Dir) {
				return fmt.Errorf("cluster %s: %s (pid %d) stopped unexpectedly%s", c.Name, p.Component, p.PID,
					describeLogTail(filepath.Join(c.Dir, "logs", p.Component+".log")))
			}
		}
	}
	if err := firstExitError(c.children); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	return nil
}

// Stop stops the cluster's processes in reverse start order (kwok, kube-scheduler,
// kube-controller-manager, then kube-apiserver before etcd), each with SIGTERM and after 20s SIGKILL,
// and removes its directory. It is safe to call more than once and on a partly started cluster; later
// calls return the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	var errs []error
	for i := len(c.children) - 1; i >= 0; i-- {
		if err := c.children[i].stop(stopTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	if c.controlPlane != nil {
		if err := c.controlPlane.Stop(); err != nil { // kube-apiserver, then etcd
			errs = append(errs, fmt.Errorf("stop etcd and kube-apiserver: %w", err))
		}
	}
	if os.Getenv(keepDirEnv) == "true" {
		if err := os.WriteFile(filepath.Join(c.Dir, keptMarkerName), nil, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("mark directory as kept: %w", err))
		}
		fmt.Fprintf(os.Stderr, "testcluster: kept the directory of cluster %s: %s\n", c.Name, c.Dir)
	} else if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove cluster directory: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop cluster %s: %w", c.Name, err)
	}
	return nil
}

// Kubectl runs the kubectl of BinaryDir against the cluster with args and returns its stdout; the
// error quotes stderr.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	kubectl := filepath.Join(c.BinaryDir, kubectlBinary)
	if !fileExists(kubectl) {
		return "", fmt.Errorf("kubectl: %s does not exist", kubectl)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig=" + c.KubeconfigPath}, args...)...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
