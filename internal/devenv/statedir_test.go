package devenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// TestOpenStateDir checks how a start treats what it finds in the state directory: a first start
// creates the CA and keys, a second one loads them, and what does not fit is refused with a message
// that says what is wrong and how to start afresh.
func TestOpenStateDir(t *testing.T) {
	defaults := Options{}.withDefaults()
	// prepared returns a directory a first start left (without clusters: it never came up).
	prepared := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "state")
		s, err := openStateDir(dir, defaults)
		if err != nil {
			t.Fatalf("first open: %v", err)
		}
		s.unlock()
		return dir
	}
	editState := func(t *testing.T, dir string, edit func(map[string]any)) {
		st := map[string]any{}
		data, err := os.ReadFile(filepath.Join(dir, stateFileName))
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if err != nil {
			t.Fatal(err)
		}
		edit(st)
		if data, err = json.Marshal(st); err == nil {
			err = os.WriteFile(filepath.Join(dir, stateFileName), data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T) string
		opts    Options
		wantErr []string // substrings; none: the open succeeds
	}{
		{name: "missing directory: first start", prepare: func(t *testing.T) string { return filepath.Join(t.TempDir(), "new", "state") }, opts: defaults},
		{name: "left by a first start: reused", prepare: prepared, opts: defaults},
		{name: "other targets", prepare: prepared, opts: func() Options { o := defaults; o.Targets = []string{"qa"}; return o }(),
			wantErr: []string{"holds the target clusters staging,prod, not the qa asked for", "--targets staging,prod", "--fresh"}},
		{name: "another format", prepare: func(t *testing.T) string {
			dir := prepared(t)
			editState(t, dir, func(st map[string]any) { st["format"] = 99 })
			return dir
		}, opts: defaults, wantErr: []string{"incompatible aurora dev (format 99; this one reads format 1)", "start afresh with --fresh"}},
		{name: "unreadable state.json", prepare: func(t *testing.T) string {
			dir := prepared(t)
			must1(t, os.WriteFile(filepath.Join(dir, stateFileName), []byte("{"), 0o600))
			return dir
		}, opts: defaults, wantErr: []string{"is broken: state.json", "--fresh"}},
		{name: "damaged master key", prepare: func(t *testing.T) string {
			dir := prepared(t)
			must1(t, os.WriteFile(filepath.Join(dir, masterKeyFile), []byte("short"), 0o600))
			return dir
		}, opts: defaults, wantErr: []string{"is broken: master.key: parse master key", "--fresh"}},
		{name: "missing CA key", prepare: func(t *testing.T) string {
			dir := prepared(t)
			must1(t, os.Remove(filepath.Join(dir, "ca.key")))
			return dir
		}, opts: defaults, wantErr: []string{"is broken: the dev CA", "--fresh"}},
		{name: "cluster data gone after a complete start", prepare: func(t *testing.T) string {
			dir := prepared(t)
			editState(t, dir, func(st map[string]any) { st["complete"] = true })
			return dir
		}, opts: defaults, wantErr: []string{"is broken: the data of cluster cloud", "--fresh"}},
		{name: "files of an earlier aurora dev without state.json", prepare: func(t *testing.T) string {
			dir := t.TempDir()
			must1(t, os.WriteFile(filepath.Join(dir, "endpoints.json"), []byte("{}"), 0o600))
			return dir
		}, opts: defaults, wantErr: []string{"is not empty (endpoints.json) but has no state.json", "--fresh"}},
		{name: "fresh wipes what aurora dev wrote", prepare: func(t *testing.T) string {
			dir := prepared(t)
			editState(t, dir, func(st map[string]any) { st["format"] = 99 })
			must1(t, os.MkdirAll(filepath.Join(dir, clustersDirName, "cloud", "etcd"), 0o700))
			must1(t, os.WriteFile(filepath.Join(dir, "kubeconfig-cloud"), nil, 0o600))
			return dir
		}, opts: func() Options { o := defaults; o.Fresh = true; return o }()},
		{name: "fresh keeps files aurora dev did not write", prepare: func(t *testing.T) string {
			dir := prepared(t)
			must1(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))
			return dir
		}, opts: func() Options { o := defaults; o.Fresh = true; return o }(), wantErr: []string{`holds "notes.txt", which aurora dev does not write; not deleting anything`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := tc.prepare(t)
			before, _ := os.ReadFile(filepath.Join(dir, masterKeyFile))
			s, err := openStateDir(dir, tc.opts)
			if len(tc.wantErr) > 0 {
				g.Expect(err).To(HaveOccurred())
				for _, want := range tc.wantErr {
					g.Expect(err.Error()).To(ContainSubstring(want))
				}
				g.Expect(err.Error()).To(ContainSubstring(dir))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			defer s.unlock()
			g.Expect(s.ca).NotTo(BeNil())
			g.Expect(s.masterKey).To(HaveLen(32))
			g.Expect(s.previewKey).To(HaveLen(32))
			after, err := os.ReadFile(filepath.Join(dir, masterKeyFile))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.reused).To(Equal(before != nil && !tc.opts.Fresh))
			g.Expect(after != nil && string(after) == string(before)).To(Equal(s.reused), "a reused directory keeps its master key")
			g.Expect(filepath.Join(dir, clustersDirName)).NotTo(BeADirectory(), "nothing of a wiped directory is left")
			for _, name := range []string{"ca.key", masterKeyFile, previewKeyFile, stateFileName} {
				info, err := os.Stat(filepath.Join(dir, name))
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)), name)
			}
		})
	}
}

// TestStateDirLock checks that a directory held by one start is refused to another, naming the
// holder, and is free again once released.
func TestStateDirLock(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	opts := Options{}.withDefaults()
	held, err := openStateDir(dir, opts)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = openStateDir(dir, opts)
	g.Expect(err).To(MatchError(ContainSubstring("state directory " + dir + " is in use by another aurora dev (process ")))
	_, err = openStateDir(dir, Options{Fresh: true}.withDefaults())
	g.Expect(err).To(MatchError(ContainSubstring("in use")), "--fresh does not wipe a directory in use")
	g.Expect(filepath.Join(dir, masterKeyFile)).To(BeAnExistingFile())
	held.unlock()
	again, err := openStateDir(dir, opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.reused).To(BeTrue())
	again.unlock()
}

func must1(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
