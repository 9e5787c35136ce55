package testcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// logTailLines is how many lines of a process's log a start error quotes.
const logTailLines = 30

// childProcess is a component binary run as a child of the test process: in its own process group,
// SIGKILLed by the kernel when the test process dies, with stdout and stderr appended to a log file.
type childProcess struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once the process has exited and been waited for
	exitErr error         // what Wait returned; read only after exited is closed
}

// startChildProcess starts binary with args, logging to logPath, and records its pid in the cluster
// directory dir.
func startChildProcess(dir, name, binary string, args []string, logPath string) (*childProcess, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	defer logFile.Close() // the child holds its own copy of the descriptor

	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &childProcess{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := recordPID(dir, cmd.Process.Pid, name); err != nil {
		return p, errors.Join(err, p.stop(time.Second))
	}
	return p, nil
}

// pid returns the process id.
func (p *childProcess) pid() int { return p.cmd.Process.Pid }

// exitError returns nil while the process runs, and once it has exited an error that says how and
// quotes the end of its log.
func (p *childProcess) exitError() error {
	select {
	case <-p.exited:
	default:
		return nil
	}
	how := "exited"
	if p.exitErr != nil {
		how = p.exitErr.Error()
	}
	return fmt.Errorf("%s stopped unexpectedly (%s)%s", p.name, how, describeLogTail(p.logPath))
}

// stop sends SIGTERM to the process group, waits up to timeout, then SIGKILLs the group. A process
// that already exited is not an error here: exitError reports crashes while a cluster starts.
func (p *childProcess) stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.exited
	return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, timeout)
}

// firstExitError returns the exitError of the first process in processes that has exited.
func firstExitError(processes []*childProcess) error {
	for _, p := range processes {
		if err := p.exitError(); err != nil {
			return err
		}
	}
	return nil
}

// describeLogTail returns "; last lines of <log>:\n<lines>" for a log file, for error messages.
func describeLogTail(logPath string) string {
	tail, err := readLogTail(logPath, logTailLines)
	switch {
	case err != nil:
		return fmt.Sprintf("; cannot read its log: %v", err)
	case tail == "":
		return fmt.Sprintf("; its log %s is empty", logPath)
	}
	return fmt.Sprintf("; last lines of %s:\n%s", filepath.Base(logPath), tail)
}

// readLogTail returns the last n lines of a log file, reading at most its last 64 KiB.
func readLogTail(logPath string, n int) (string, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return "", fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	const maxTailBytes = 64 << 10
	if info, err := f.Stat(); err == nil && info.Size() > maxTailBytes {
		if _, err := f.Seek(-maxTailBytes, io.SeekEnd); err != nil {
			return "", fmt.Errorf("seek log: %w", err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("read log: %w", err)
	}
	return lastLines(data, n), nil
}

// lastLines returns the last n lines of data, without the trailing newline.
func lastLines(data []byte, n int) string {
	data = bytes.TrimRight(data, "\n")
	if n <= 0 || len(data) == 0 {
		return ""
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
