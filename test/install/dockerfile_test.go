package install

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileBuilds checks the image build file without a Docker engine: every directory it
// copies exists, every Go package directory of the module is copied (so the image never misses
// one), and its go build command builds the binary with the same flags.
func TestDockerfileBuilds(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	copied := map[string]bool{}
	var build []string
	copyLine := regexp.MustCompile(`^COPY\s+(\S+)\s+\S+$`)
	scanner := bufio.NewScanner(f)
	inRun := false
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if m := copyLine.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "COPY --from") {
			for _, src := range strings.Fields(m[1]) {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("Dockerfile copies %s, which does not exist", src)
				}
				copied[strings.TrimSuffix(src, "/")] = true
			}
		}
		if strings.HasPrefix(line, "RUN CGO_ENABLED=0") {
			inRun = true
		}
		if inRun {
			build = append(build, strings.TrimSuffix(line, "\\"))
			if !strings.HasSuffix(line, "\\") {
				inRun = false
			}
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	// Every top-level directory holding Go code the binary imports must be copied.
	list := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/aurora")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, "github.com/aurora-cd/aurora/")
		if !ok {
			continue
		}
		found := false
		for dir := range copied {
			if rel == dir || strings.HasPrefix(rel, dir+"/") {
				found = true
			}
		}
		if !found {
			t.Errorf("the binary imports %s but the Dockerfile does not copy its directory", pkg)
		}
	}
	cmd := strings.Join(build, " ")
	if !strings.Contains(cmd, "go build") || !strings.Contains(cmd, "./cmd/aurora") {
		t.Fatalf("no go build of ./cmd/aurora found in the Dockerfile: %q", cmd)
	}
	// Build with the Dockerfile's ldflags. Without its CGO_ENABLED=0 and -trimpath, which would
	// recompile every package instead of reusing the build cache of the other tests.
	bin := filepath.Join(t.TempDir(), "aurora")
	b := exec.Command("go", "build", "-ldflags", "-s -w -X github.com/aurora-cd/aurora/internal/version.Version=test", "-o", bin, "./cmd/aurora")
	b.Dir = root
	if out, err := b.CombinedOutput(); err != nil {
		t.Fatalf("building as the Dockerfile does: %v\n%s", err, out)
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(v), "aurora test") {
		t.Fatalf("the built binary: %q, %v", v, err)
	}
}
