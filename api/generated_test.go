package api_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// controllerToolsVersion must match CONTROLLER_TOOLS_VERSION in the Makefile.
const controllerToolsVersion = "v0.23.0"

// TestGeneratedFilesAreCurrent regenerates the CRDs, the manager's ClusterRole and the DeepCopy
// methods into a temporary directory and fails when they differ from the committed files: run
// `make manifests generate` after changing api/ or an RBAC marker.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checkMakefilePin(t, root)
	out := t.TempDir()
	controllerGen(t, root, "rbac:roleName=manager-role", "crd:allowDangerousTypes=true", "paths=./...",
		"output:crd:artifacts:config="+filepath.Join(out, "crd"), "output:rbac:artifacts:config="+filepath.Join(out, "rbac"))
	compareDirs(t, filepath.Join(out, "crd"), filepath.Join(root, "config", "crd", "bases"))
	compareFile(t, filepath.Join(out, "rbac", "role.yaml"), filepath.Join(root, "config", "rbac", "role.yaml"))

	for _, group := range []string{"iam", "deploy", "rollout"} {
		dir := filepath.Join(out, "object", group)
		controllerGen(t, root, `object:headerFile=hack/boilerplate.go.txt`, "paths=./api/"+group+"/v1alpha1", "output:object:dir="+dir)
		compareFile(t, filepath.Join(dir, "zz_generated.deepcopy.go"), filepath.Join(root, "api", group, "v1alpha1", "zz_generated.deepcopy.go"))
	}
}

// checkMakefilePin keeps this test's controller-gen and the Makefile's on one version.
func checkMakefilePin(t *testing.T, root string) {
	t.Helper()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CONTROLLER_TOOLS_VERSION \?= (\S+)$`).FindSubmatch(makefile)
	if m == nil || string(m[1]) != controllerToolsVersion {
		t.Fatalf("Makefile pins controller-tools %q; this test uses %s: keep them equal", m, controllerToolsVersion)
	}
}

// controllerGen runs the pinned controller-gen: bin/tools' copy when `make` installed it, else
// `go run` of the pinned version.
func controllerGen(t *testing.T, root string, args ...string) {
	t.Helper()
	var cmd *exec.Cmd
	if bin := filepath.Join(root, "bin", "tools", "controller-gen-"+controllerToolsVersion); fileExists(bin) {
		cmd = exec.Command(bin, args...)
	} else {
		cmd = exec.Command("go", append([]string{"run", "sigs.k8s.io/controller-tools/cmd/controller-gen@" + controllerToolsVersion}, args...)...)
	}
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("controller-gen %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

func compareDirs(t *testing.T, generated, committed string) {
	t.Helper()
	gen, err := filepath.Glob(filepath.Join(generated, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	com, err := filepath.Glob(filepath.Join(committed, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(gen) == 0 {
		t.Fatalf("controller-gen wrote nothing into %s", generated)
	}
	names := map[string]bool{}
	for _, f := range com {
		names[filepath.Base(f)] = true
	}
	for _, f := range gen {
		if !names[filepath.Base(f)] {
			t.Errorf("%s is not committed: run make manifests", filepath.Join(committed, filepath.Base(f)))
			continue
		}
		delete(names, filepath.Base(f))
		compareFile(t, f, filepath.Join(committed, filepath.Base(f)))
	}
	for name := range names {
		t.Errorf("%s is no longer generated: remove it (make manifests)", filepath.Join(committed, name))
	}
}

func compareFile(t *testing.T, generated, committed string) {
	t.Helper()
	want, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatalf("%v: run make manifests generate", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is out of date: run make manifests generate", committed)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
