package deployfile

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"

	"github.com/aurora-cd/aurora/internal/tlsutil"
)

const (
	deploymentYAML = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
	serviceYAML    = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	configMapYAML  = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
)

// manifestServer serves manifests over real HTTPS, with a certificate of a CA of its own; the
// returned client trusts that CA.
func manifestServer(t *testing.T, files map[string]string) (*httptest.Server, *http.Client) {
	t.Helper()
	ca, err := tlsutil.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	if srv.TLS, err = tlsutil.ServerConfig(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	clientTLS, err := tlsutil.ClientConfig(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return srv, &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}, Timeout: 10 * time.Second}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// resolvedManifests decodes the manifests of a resolved deploy file.
func resolvedManifests(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var doc struct {
		Manifests []map[string]any `yaml:"manifests"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("the resolved file does not parse: %v\n%s", err, out)
	}
	return doc.Manifests
}

func TestResolveManifests(t *testing.T) {
	served := map[string]string{
		"/app/service.yaml":       serviceYAML,
		"/app/manifests/web.yaml": deploymentYAML,
		"/remote/broken.yml":      "application: web\nmanifests:\n  - path: missing.yaml\n",
	}
	srv, hc := manifestServer(t, served)
	served["/remote/deploy.yml"] = "application: web\nmanifests:\n  - path: ../app/service.yaml\n  - path: " + srv.URL + "/app/manifests/web.yaml\n"
	tests := []struct {
		name     string
		files    map[string]string
		deploy   string // a file of files, or a URL path on the server
		want     []map[string]any
		wantErr  string
		mutateFn func(string) string
	}{
		{
			name:   "a file, a directory and a URL",
			files:  map[string]string{"deploy.yml": "application: web\nmanifests:\n  - path: svc.yaml\n  - path: dir\n    targets: [staging]\n  - path: SERVER/app/service.yaml\n  - inline: kept\n", "svc.yaml": serviceYAML, "dir/b.yaml": configMapYAML, "dir/a.yml": deploymentYAML, "dir/notes.txt": "skip me", "dir/sub/c.yaml": serviceYAML},
			deploy: "deploy.yml",
			want: []map[string]any{
				{"inline": serviceYAML},
				{"inline": deploymentYAML + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n", "targets": []any{"staging"}},
				{"inline": serviceYAML},
				{"inline": "kept"},
			},
		},
		{
			name:   "paths relative to the deploy file's directory",
			files:  map[string]string{"deploy/deploy.yml": "application: web\nmanifests:\n  - path: ../k8s/web.yaml\n", "k8s/web.yaml": deploymentYAML},
			deploy: "deploy/deploy.yml",
			want:   []map[string]any{{"inline": deploymentYAML}},
		},
		{
			name:   "a deploy file at a URL, with a relative and an absolute URL",
			deploy: srv.URL + "/remote/deploy.yml",
			want:   []map[string]any{{"inline": serviceYAML}, {"inline": deploymentYAML}},
		},
		{
			name:    "a missing file names the field and its line",
			files:   map[string]string{"deploy.yml": "application: web\nmanifests:\n  - inline: x\n  - path: nope.yaml\n"},
			deploy:  "deploy.yml",
			wantErr: "deploy.yml:4:11: manifests[1].path: reading nope.yaml: no such file or directory",
		},
		{
			name:    "a directory without YAML",
			files:   map[string]string{"deploy.yml": "application: web\nmanifests:\n  - path: empty\n", "empty/readme.md": "hi"},
			deploy:  "deploy.yml",
			wantErr: "deploy.yml:3:11: manifests[0].path: directory empty holds no .yaml or .yml file",
		},
		{
			name:    "a URL that answers 404",
			files:   map[string]string{"deploy.yml": "application: web\nmanifests:\n  - path: SERVER/nothing.yaml\n"},
			deploy:  "deploy.yml",
			wantErr: "manifests[0].path: fetching SERVER/nothing.yaml: 404 Not Found",
		},
		{
			name:    "a relative path of a remote deploy file that is missing",
			deploy:  srv.URL + "/remote/broken.yml",
			wantErr: "manifests[0].path: fetching SERVER/remote/missing.yaml: 404 Not Found",
		},
		{
			name:    "path and inline together",
			files:   map[string]string{"deploy.yml": "application: web\nmanifests:\n  - path: a.yaml\n    inline: b\n"},
			deploy:  "deploy.yml",
			wantErr: "deploy.yml:3:11: manifests[0].path: set path or inline, not both",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			files := map[string]string{}
			for k, v := range tt.files {
				files[k] = strings.ReplaceAll(v, "SERVER", srv.URL)
			}
			writeFiles(t, dir, files)
			ref := tt.deploy
			if !strings.HasPrefix(ref, "https://") {
				ref = filepath.Join(dir, ref)
			}
			l := Loader{HTTP: hc}
			f, err := l.Read(context.Background(), ref)
			g.Expect(err).NotTo(HaveOccurred())
			err = l.Resolve(context.Background(), f, Options{})
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(strings.ReplaceAll(tt.wantErr, "SERVER", srv.URL))))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			out, err := f.Marshal()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(resolvedManifests(t, out)).To(Equal(tt.want))
		})
	}
}

func TestResolveOptions(t *testing.T) {
	tests := []struct {
		name, source string
		opts         Options
		want         map[string]any
	}{
		{"context added to a file without any", "application: web\n", Options{Context: map[string]string{"b": "2", "a": "1"}},
			map[string]any{"application": "web", "contextOverrides": map[string]any{"a": "1", "b": "2"}}},
		{"context merged, flags winning", "application: web\ncontextOverrides:\n  a: old\n  keep: yes\n", Options{Context: map[string]string{"a": "new"}},
			map[string]any{"application": "web", "contextOverrides": map[string]any{"a": "new", "keep": "yes"}}},
		{"target filters replace the file's", "application: web\ntargetFilters:\n  - includeTarget: prod\n", Options{Targets: []string{"staging", "qa"}},
			map[string]any{"application": "web", "targetFilters": []any{map[string]any{"includeTarget": "staging"}, map[string]any{"includeTarget": "qa"}}}},
		{"no options change nothing", "application: web\ntargetFilters:\n  - includeTarget: prod\n", Options{},
			map[string]any{"application": "web", "targetFilters": []any{map[string]any{"includeTarget": "prod"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f, err := Parse("deploy.yml", []byte(tt.source), ".")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(Loader{}.Resolve(context.Background(), f, tt.opts)).To(Succeed())
			out, err := f.Marshal()
			g.Expect(err).NotTo(HaveOccurred())
			got := map[string]any{}
			g.Expect(yaml.Unmarshal(out, &got)).To(Succeed())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestResolveKeepsComments(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"deploy.yml": "# the web app\napplication: web # name\nmanifests:\n  - path: web.yaml\n", "web.yaml": deploymentYAML})
	l := Loader{}
	f, err := l.Read(context.Background(), filepath.Join(dir, "deploy.yml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Resolve(context.Background(), f, Options{})).To(Succeed())
	out, err := f.Marshal()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(HavePrefix("# the web app\napplication: web # name\nmanifests:\n  - inline: |\n      apiVersion: apps/v1\n"))
}
