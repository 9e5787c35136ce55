package testcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// apiServerRestartTimeout bounds how long RestartAPIServer waits for the old process to exit and
// for the new one to be ready.
const apiServerRestartTimeout = 2 * time.Minute

// RestartAPIServer restarts the cluster's kube-apiserver as a rolling restart does: it sends the
// process SIGTERM, waits until it has exited, starts it again with the same command line (same
// address, certificates, users and etcd, so clients and kubeconfigs keep working and every object
// stays), and returns once /readyz answers. The new process is stopped with the cluster.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	index := -1
	for i, p := range c.processes {
		if p.Component == apiServerBinary {
			index = i
		}
	}
	if index < 0 {
		return fmt.Errorf("cluster %s: no kube-apiserver process is recorded", c.Name)
	}
	pid := c.processes[index].PID
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 {
		return fmt.Errorf("cluster %s: reading the command line of kube-apiserver (pid %d): %v", c.Name, pid, err)
	}
	argv := splitCommandLine(cmdline)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("cluster %s: stopping kube-apiserver (pid %d): %w", c.Name, pid, err)
	}
	deadline := time.Now().Add(apiServerRestartTimeout)
	for commandLineMentions(pid, c.Dir) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	logPath := filepath.Join(c.Dir, "logs", fmt.Sprintf("%s-restarted-%d.log", apiServerBinary, time.Now().UnixNano()))
	child, err := startChildProcess(c.Dir, apiServerBinary, argv[0], argv[1:], logPath)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	c.children = append(c.children, child)
	c.processes[index].PID = child.pid()
	return waitReady(ctx, c.Client, deadline, child)
}

// splitCommandLine splits a /proc/<pid>/cmdline into its arguments.
func splitCommandLine(cmdline []byte) []string {
	var argv []string
	for arg := range bytes.SplitSeq(bytes.TrimRight(cmdline, "\x00"), []byte{0}) {
		argv = append(argv, string(arg))
	}
	return argv
}

// waitReady reads the default namespace until the API server answers, the deadline passes or the
// process exits.
func waitReady(ctx context.Context, c client.Client, deadline time.Time, p *childProcess) error {
	for {
		err := c.Get(ctx, client.ObjectKey{Name: "default"}, &corev1.Namespace{})
		if err == nil {
			return nil
		}
		if exitErr := p.exitError(); exitErr != nil {
			return exitErr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver did not answer within %s after its restart: %w%s", apiServerRestartTimeout, err, describeLogTail(p.logPath))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
