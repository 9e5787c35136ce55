package testcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A cluster's working directory lives under the state root and holds, besides certificates, etcd data,
// kubeconfigs and logs, the files the reaper reads:
const (
	stateRootName  = "aurora-testcluster" // under os.TempDir()
	ownerFileName  = "owner"              // "<pid> <start time>" of the test process that owns the cluster
	pidsFileName   = "pids"               // one "<pid> <component>" line per started process
	keptMarkerName = "kept"               // present when Stop kept the directory on purpose
	stateLockName  = ".lock"              // flock serialising directory creation and reaping
)

// stateRoot is the well-known directory under which every cluster's working directory lives.
func stateRoot() string {
	return filepath.Join(os.TempDir(), stateRootName)
}

// processIdentity names a process across pid reuse: its pid and its start time in clock ticks since
// boot (field 22 of /proc/<pid>/stat).
type processIdentity struct {
	PID       int
	StartTime uint64
}

// recordedProcess is one line of a cluster's pid file.
type recordedProcess struct {
	PID       int
	Component string
}

// createWorkDir creates a fresh working directory for a cluster under root and records the calling
// process as its owner. It holds the state lock, so the reaper never sees a directory without owner.
func createWorkDir(root, clusterName string) (string, error) {
	unlock, err := lockStateRoot(root)
	if err != nil {
		return "", err
	}
	defer unlock()

	self, err := identityOf(os.Getpid())
	if err != nil {
		return "", fmt.Errorf("create cluster directory: %w", err)
	}
	dir, err := os.MkdirTemp(root, dirSafeName(clusterName)+"-")
	if err != nil {
		return "", fmt.Errorf("create cluster directory: %w", err)
	}
	owner := fmt.Sprintf("%d %d\n", self.PID, self.StartTime)
	if err := os.WriteFile(filepath.Join(dir, ownerFileName), []byte(owner), 0o644); err != nil {
		return "", fmt.Errorf("create cluster directory: %w", err)
	}
	return dir, nil
}

// lockStateRoot creates root if needed and takes its exclusive lock; the returned func releases it.
func lockStateRoot(root string) (unlock func(), err error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", root, err)
	}
	lockFile, err := os.OpenFile(filepath.Join(root, stateLockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	if err := syscall.Flock(int(lockFile.Fd()), syscall.LOCK_EX); err != nil {
		_ = lockFile.Close()
		return nil, fmt.Errorf("take state lock: %w", err)
	}
	return func() { _ = lockFile.Close() }, nil // closing releases the lock
}

// notDirSafe matches runs of characters dirSafeName replaces.
var notDirSafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// dirSafeName turns a cluster name into a short directory-name prefix.
func dirSafeName(name string) string {
	safe := notDirSafe.ReplaceAllString(name, "-")
	safe = strings.Trim(safe, "-.")
	if len(safe) > 40 {
		safe = safe[:40]
	}
	if safe == "" {
		return "cluster"
	}
	return safe
}

// recordPID appends a started process to the cluster's pid file.
func recordPID(dir string, pid int, component string) error {
	f, err := os.OpenFile(filepath.Join(dir, pidsFileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("record pid of %s: %w", component, err)
	}
	_, writeErr := fmt.Fprintf(f, "%d %s\n", pid, component)
	if err := errors.Join(writeErr, f.Close()); err != nil {
		return fmt.Errorf("record pid of %s: %w", component, err)
	}
	return nil
}

// readPIDFile reads a cluster's pid file; a missing file means no process was started.
func readPIDFile(dir string) ([]recordedProcess, error) {
	data, err := os.ReadFile(filepath.Join(dir, pidsFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pid file: %w", err)
	}
	return parsePIDFile(string(data)), nil
}

// parsePIDFile parses "<pid> <component>" lines. Blank and malformed lines (a line cut short by a
// crash) are skipped: the reaper must still reach every well-formed entry.
func parsePIDFile(content string) []recordedProcess {
	var processes []recordedProcess
	for _, line := range strings.Split(content, "\n") {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil || pid <= 1 {
			continue
		}
		processes = append(processes, recordedProcess{PID: pid, Component: fields[1]})
	}
	return processes
}

// parseOwner parses an owner file: "<pid> <start time>".
func parseOwner(content string) (processIdentity, error) {
	fields := strings.Fields(content)
	if len(fields) != 2 {
		return processIdentity{}, fmt.Errorf("owner %q: want \"<pid> <start time>\"", content)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return processIdentity{}, fmt.Errorf("owner %q: bad pid", content)
	}
	startTime, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return processIdentity{}, fmt.Errorf("owner %q: bad start time: %w", content, err)
	}
	return processIdentity{PID: pid, StartTime: startTime}, nil
}

// identityOf reads a live process's identity from /proc.
func identityOf(pid int) (processIdentity, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return processIdentity{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	startTime, err := parseStatStartTime(string(stat))
	if err != nil {
		return processIdentity{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return processIdentity{PID: pid, StartTime: startTime}, nil
}

// parseStatStartTime extracts the start time (field 22) from the content of /proc/<pid>/stat. The
// command name (field 2) is in parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatStartTime(stat string) (uint64, error) {
	closing := strings.LastIndexByte(stat, ')')
	if closing < 0 {
		return 0, fmt.Errorf("parse /proc stat %q: no command name", stat)
	}
	fields := strings.Fields(stat[closing+1:]) // fields[0] is field 3 (state)
	const startTimeIndex = 22 - 3
	if len(fields) <= startTimeIndex {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command name, want more than %d", len(fields), startTimeIndex)
	}
	startTime, err := strconv.ParseUint(fields[startTimeIndex], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat start time: %w", err)
	}
	return startTime, nil
}

// isAlive reports whether the process with this identity still runs. When /proc cannot say, it
// answers yes: the reaper must never take a live owner's cluster.
func (id processIdentity) isAlive() bool {
	current, err := identityOf(id.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	return current.StartTime == id.StartTime && !isZombie(id.PID)
}

// isZombie reports whether pid has exited but not been waited for.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	closing := bytes.LastIndexByte(stat, ')')
	return closing >= 0 && bytes.HasPrefix(bytes.TrimSpace(stat[closing+1:]), []byte("Z"))
}

// commandLineMentions reports whether pid is a running (not zombie) process whose command line
// contains text. Every process a cluster starts names the cluster's directory in its flags, so this
// tells a leftover process from an unrelated one that reuses its pid.
func commandLineMentions(pid int, text string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 { // zombies have an empty command line
		return false
	}
	return bytes.Contains(cmdline, []byte(text))
}

// reapOrphans cleans up after test processes that died without stopping their clusters: for every
// working directory under root whose owner is gone, it SIGKILLs the recorded processes (and their
// process groups) that still name the directory on their command line, waits for them to go, and
// removes the directory. Directories of live owners, and directories Stop kept on purpose, are left
// alone. It returns the directories it removed.
func reapOrphans(root string) ([]string, error) {
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := lockStateRoot(root)
	if err != nil {
		return nil, err
	}
	defer unlock()

	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reap orphaned clusters: %w", err)
	}
	var reaped []string
	var errs []error
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		dir := filepath.Join(root, entry.Name())
		if fileExists(filepath.Join(dir, keptMarkerName)) {
			continue
		}
		// Directories are created with their owner file under the lock, so a directory without a
		// readable owner is broken and reaped too.
		if ownerData, err := os.ReadFile(filepath.Join(dir, ownerFileName)); err == nil {
			if owner, err := parseOwner(string(ownerData)); err == nil && owner.isAlive() {
				continue
			}
		}
		if err := killLeftoverProcesses(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove orphaned cluster directory: %w", err))
			continue
		}
		reaped = append(reaped, dir)
	}
	return reaped, errors.Join(errs...)
}

// killLeftoverProcesses SIGKILLs the processes recorded in dir's pid file that still run with dir on
// their command line, with their process groups, and waits up to 10s for them to exit.
func killLeftoverProcesses(dir string) error {
	recorded, err := readPIDFile(dir)
	if err != nil {
		return fmt.Errorf("reap %s: %w", dir, err)
	}
	var leftovers []recordedProcess
	for _, p := range recorded {
		if commandLineMentions(p.PID, dir) {
			leftovers = append(leftovers, p)
			_ = syscall.Kill(-p.PID, syscall.SIGKILL) // its process group (every process leads its own)
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range leftovers {
		for commandLineMentions(p.PID, dir) {
			if time.Now().After(deadline) {
				return fmt.Errorf("reap %s: %s (pid %d) still runs 10s after SIGKILL", dir, p.Component, p.PID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}
