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
	"syscall"
	"time"
)

// ClusterKind says which kind of cluster, and so which binaries, a caller needs.
type ClusterKind int

const (
	// APIOnly is a cluster of kube-apiserver and etcd.
	APIOnly ClusterKind = iota
	// Full is an APIOnly cluster plus kube-controller-manager, kube-scheduler and kwok.
	Full
)

// String returns the kind's name.
func (k ClusterKind) String() string {
	if k == Full {
		return "full"
	}
	return "api-only"
}

// Names of the binaries (and of the kwok stage directory) in a binary directory.
const (
	apiServerBinary         = "kube-apiserver"
	etcdBinary              = "etcd"
	kubectlBinary           = "kubectl"
	controllerManagerBinary = "kube-controller-manager"
	schedulerBinary         = "kube-scheduler"
	kwokBinary              = "kwok"
	kwokStagesDir           = "kwok-stages"
)

// kwokStageFiles are the kwok Stage files a full cluster loads from the kwok-stages directory:
// nodes become Ready and keep a lease, pods become Ready, complete, and are deleted for real.
var kwokStageFiles = []string{
	"node-initialize.yaml",
	"node-heartbeat-with-lease.yaml",
	"pod-ready.yaml",
	"pod-complete.yaml",
	"pod-delete.yaml",
}

// requiredFiles lists what a binary directory must hold for this kind of cluster.
func (k ClusterKind) requiredFiles() []string {
	files := []string{apiServerBinary, etcdBinary}
	if k == Full {
		files = append(files, controllerManagerBinary, schedulerBinary, kwokBinary)
		for _, stage := range kwokStageFiles {
			files = append(files, filepath.Join(kwokStagesDir, stage))
		}
	}
	return files
}

// testBinariesScript is the script, relative to the repository root, that builds and caches the binaries.
const testBinariesScript = "hack/test-binaries.sh"

// scriptBinaryDir caches the directory the script printed, once per test process.
var scriptBinaryDir struct {
	sync.Mutex
	dir string
}

// BinaryDir returns a directory holding the binaries a cluster of the given kind needs.
//
// It is $KUBEBUILDER_ASSETS when that directory holds them. Otherwise BinaryDir runs
// <repo root>/hack/test-binaries.sh (the repository root is the nearest directory above the working
// directory with a go.mod and that script), passes its progress through to stderr, and returns the
// directory on the last line of its output. The script builds the binaries once per machine (12-15
// minutes cold on 2 cores) and is a no-op afterwards; ctx bounds the wait. The result is cached for
// the life of the process.
func BinaryDir(ctx context.Context, kind ClusterKind) (string, error) {
	required := kind.requiredFiles()
	if assets := os.Getenv("KUBEBUILDER_ASSETS"); assets != "" && len(missingFiles(assets, required)) == 0 {
		return assets, nil
	}

	scriptBinaryDir.Lock()
	defer scriptBinaryDir.Unlock()
	if scriptBinaryDir.dir == "" {
		root, err := findRepoRoot()
		if err != nil {
			return "", err
		}
		dir, err := runTestBinariesScript(ctx, root)
		if err != nil {
			return "", err
		}
		scriptBinaryDir.dir = dir
	}
	if missing := missingFiles(scriptBinaryDir.dir, required); len(missing) > 0 {
		return "", fmt.Errorf("%s printed %s, which lacks %s for a %s cluster",
			testBinariesScript, scriptBinaryDir.dir, strings.Join(missing, ", "), kind)
	}
	return scriptBinaryDir.dir, nil
}

// findRepoRoot walks up from the working directory to the first directory that holds both a go.mod
// and hack/test-binaries.sh.
func findRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, testBinariesScript)) {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", fmt.Errorf("find repository root: no directory above %s holds go.mod and %s", wd, testBinariesScript)
		}
	}
}

// runTestBinariesScript runs the build script of the repository at root and returns the directory it
// printed last. The script and its builds run in their own process group, killed when ctx ends.
func runTestBinariesScript(ctx context.Context, root string) (string, error) {
	script := filepath.Join(root, testBinariesScript)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = root
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	began := time.Now()
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return "", fmt.Errorf("run %s (after %s; its progress is on stderr): %w", script, time.Since(began).Round(time.Second), err)
	}
	dir, err := binaryDirFromScriptOutput(stdout.String())
	if err != nil {
		return "", fmt.Errorf("run %s: %w", script, err)
	}
	return dir, nil
}

// binaryDirFromScriptOutput returns the last non-empty line of the script's stdout, which must be an
// absolute path.
func binaryDirFromScriptOutput(stdout string) (string, error) {
	lines := strings.Split(strings.TrimRight(stdout, "\r\n\t "), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	switch {
	case last == "":
		return "", errors.New("the script printed no binary directory")
	case !filepath.IsAbs(last):
		return "", fmt.Errorf("the script's last line %q is not an absolute directory", last)
	}
	return filepath.Clean(last), nil
}

// missingFiles returns the names in required that are not files in dir.
func missingFiles(dir string, required []string) []string {
	var missing []string
	for _, name := range required {
		if !fileExists(filepath.Join(dir, name)) {
			missing = append(missing, name)
		}
	}
	return missing
}

// fileExists reports whether path is an existing regular file (or a symlink to one).
func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
