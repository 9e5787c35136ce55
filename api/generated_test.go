package api_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Tool versions: they must match the Makefile's (checked by checkMakefilePins).
var toolVersions = map[string]string{
	"CONTROLLER_TOOLS_VERSION":   "v0.23.0",
	"BUF_VERSION":                "v1.75.0",
	"PROTOC_GEN_GO_VERSION":      "v1.36.12",
	"PROTOC_GEN_GO_GRPC_VERSION": "v1.6.0",
}

// tool is a code generator the test runs: bin/tools/<name>-<version>, as `make` installs it.
type tool struct{ name, pkg, versionVar string }

var (
	controllerGenTool   = tool{"controller-gen", "sigs.k8s.io/controller-tools/cmd/controller-gen", "CONTROLLER_TOOLS_VERSION"}
	bufTool             = tool{"buf", "github.com/bufbuild/buf/cmd/buf", "BUF_VERSION"}
	protocGenGoTool     = tool{"protoc-gen-go", "google.golang.org/protobuf/cmd/protoc-gen-go", "PROTOC_GEN_GO_VERSION"}
	protocGenGoGRPCTool = tool{"protoc-gen-go-grpc", "google.golang.org/grpc/cmd/protoc-gen-go-grpc", "PROTOC_GEN_GO_GRPC_VERSION"}
)

// TestGeneratedFilesAreCurrent regenerates the CRDs, the manager's ClusterRole, the DeepCopy
// methods and the tunnel's protobuf code into a temporary directory and fails when they differ from
// the committed files: run `make manifests generate` after changing api/ or an RBAC marker.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checkMakefilePins(t, root)
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

	// The tunnel's protobuf and gRPC code, with buf.gen.yaml's plugins writing into the temp dir.
	protoOut := filepath.Join(out, "proto")
	template := fmt.Sprintf(`{"version":"v2","plugins":[`+
		`{"local":%q,"out":%q,"opt":"paths=source_relative"},`+
		`{"local":%q,"out":%q,"opt":"paths=source_relative"}]}`,
		ensureTool(t, root, protocGenGoTool), protoOut, ensureTool(t, root, protocGenGoGRPCTool), protoOut)
	run(t, root, ensureTool(t, root, bufTool), "generate", "--template", template)
	for _, f := range []string{"tunnel.pb.go", "tunnel_grpc.pb.go"} {
		compareFile(t, filepath.Join(protoOut, "tunnel", "v1", f), filepath.Join(root, "api", "tunnel", "v1", f))
	}
}

// checkMakefilePins keeps this test's tools and the Makefile's on the same versions.
func checkMakefilePins(t *testing.T, root string) {
	t.Helper()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for variable, version := range toolVersions {
		m := regexp.MustCompile(`(?m)^` + variable + ` \?= (\S+)$`).FindSubmatch(makefile)
		if m == nil || string(m[1]) != version {
			t.Fatalf("Makefile pins %s to %q; this test uses %s: keep them equal", variable, m, version)
		}
	}
}

// ensureTool returns the path of the pinned tool, installing it into bin/tools as `make` would.
func ensureTool(t *testing.T, root string, tl tool) string {
	t.Helper()
	version := toolVersions[tl.versionVar]
	path := filepath.Join(root, "bin", "tools", tl.name+"-"+version)
	if fileExists(path) {
		return path
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", tl.pkg+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing %s@%s: %v\n%s", tl.pkg, version, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(gobin, tl.name), path); err != nil {
		t.Fatal(err)
	}
	return path
}

// controllerGen runs the pinned controller-gen in the repository root.
func controllerGen(t *testing.T, root string, args ...string) {
	t.Helper()
	run(t, root, ensureTool(t, root, controllerGenTool), args...)
}

// run runs a command in dir and fails the test with its output if it fails.
func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
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
