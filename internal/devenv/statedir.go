package devenv

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// stateFormat is the layout version of a state directory this code reads and writes. Raise it when
// a change makes older directories unusable; a start on another format asks for --fresh.
const stateFormat = 1

// Files and directories of a state directory that a restart reuses, besides what writeState
// writes for clients (endpoints.json, ca.crt, kubeconfig-*, credentials.json, config, ready).
const (
	lockFileName     = "lock"        // flock held while an environment runs on the directory
	stateFileName    = "state.json"  // persistedState
	caKeyPairName    = "ca"          // ca.crt and ca.key (0600): the dev CA
	masterKeyFile    = "master.key"  // the auth service's master key (0600)
	previewKeyFile   = "preview.key" // the key signing the Hub's preview links (0600)
	clustersDirName  = "clusters"    // clusters/<name>: each cluster's etcd data and service-account key
	readyFileName    = "ready"
	freshFlagAdvice  = "start afresh with --fresh (this deletes the directory's clusters, tenant and credentials)"
	caValidity       = 10 * 365 * 24 * time.Hour
	servingValidity  = 30 * 24 * time.Hour
	keyFilePerm      = 0o600
	stateDirPerm     = 0o700
	persistedKeySize = 32
)

// persistedState is state.json: what the directory was made for, checked at every reuse.
type persistedState struct {
	// Format is stateFormat of the aurora dev that created the directory.
	Format int `json:"format"`
	// Organization and Environment name the demo tenant.
	Organization string `json:"organization"`
	Environment  string `json:"environment"`
	// Targets are the agent identifiers of the target clusters.
	Targets []string `json:"targets"`
	// Created is when the directory was first used.
	Created time.Time `json:"created"`
	// Complete says a start came up on the directory: from then on each cluster's data must be there.
	// Before, a start continues what an interrupted first start began.
	Complete bool `json:"complete"`
}

// stateDir is a state directory held by this process.
type stateDir struct {
	path string
	lock *os.File
	// recorded is state.json's content.
	recorded persistedState
	// reused says whether an earlier run left the clusters and keys this start continues with.
	reused bool
	ca     *tlsutil.CA
	// masterKey is the auth service's; previewKey signs the Hub's preview links.
	masterKey, previewKey []byte
}

// clusterDataDir is the persistent data directory of the named cluster.
func (s *stateDir) clusterDataDir(name string) string {
	return filepath.Join(s.path, clustersDirName, name)
}

// unlock releases the directory for the next start.
func (s *stateDir) unlock() { _ = s.lock.Close() }

// openStateDir takes the directory's lock (refusing a directory in use), wipes it when fresh, and
// then either loads what an earlier run left (checking it fits opts) or, on an empty directory,
// creates the CA and keys of a first start.
func openStateDir(path string, opts Options) (_ *stateDir, err error) {
	if err := os.MkdirAll(path, stateDirPerm); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", path, err)
	}
	lock, err := lockStateDir(path)
	if err != nil {
		return nil, err
	}
	s := &stateDir{path: path, lock: lock}
	defer func() {
		if err != nil {
			s.unlock()
		}
	}()
	if opts.Fresh {
		if err := wipeStateDir(path); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(filepath.Join(path, stateFileName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if others, err := entriesBesidesLock(path); err != nil {
			return nil, err
		} else if len(others) > 0 {
			return nil, fmt.Errorf("state directory %s is not empty (%s) but has no %s: it is not an aurora dev state directory, or one from an aurora dev that did not keep its clusters; %s, or choose another --state-dir",
				path, strings.Join(others, ", "), stateFileName, freshFlagAdvice)
		}
		return s, s.create(opts)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(path, stateFileName), err)
	}
	return s, s.load(data, opts)
}

// lockStateDir takes the exclusive flock of the directory's lock file without waiting and writes
// this process's id into it; a directory locked by another process is refused, naming it.
func lockStateDir(path string) (*os.File, error) {
	name := filepath.Join(path, lockFileName)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, keyFilePerm)
	if err != nil {
		return nil, fmt.Errorf("opening the lock of state directory %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state directory %s is in use by another aurora dev (process %s): stop that one first, or pass another --state-dir",
				path, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("locking state directory %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// knownStateEntry reports whether a directory entry is one aurora dev writes, so that --fresh never
// deletes files it did not write.
func knownStateEntry(name string) bool {
	switch name {
	case lockFileName, stateFileName, stateFileName + ".tmp", caKeyPairName + ".crt", caKeyPairName + ".key", masterKeyFile, previewKeyFile, clustersDirName,
		readyFileName, "endpoints.json", "credentials.json", "config":
		return true
	}
	return strings.HasPrefix(name, "kubeconfig-") || strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// entriesBesidesLock lists the directory's entries other than the lock file.
func entriesBesidesLock(path string) ([]string, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading state directory %s: %w", path, err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != lockFileName {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// wipeStateDir deletes what aurora dev wrote into the directory, except the lock this process
// holds. It refuses, deleting nothing, when the directory holds anything else.
func wipeStateDir(path string) error {
	names, err := entriesBesidesLock(path)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(names, func(n string) bool { return !knownStateEntry(n) }); i >= 0 {
		return fmt.Errorf("--fresh: state directory %s holds %q, which aurora dev does not write; not deleting anything there (remove the directory yourself or choose another --state-dir)", path, names[i])
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(path, n)); err != nil {
			return fmt.Errorf("--fresh: deleting %s: %w", filepath.Join(path, n), err)
		}
	}
	return nil
}

// create starts a new directory: state.json, the dev CA and the keys.
func (s *stateDir) create(opts Options) error {
	var err error
	if s.ca, err = tlsutil.NewCA("aurora dev CA", caValidity); err != nil {
		return fmt.Errorf("creating the CA: %w", err)
	}
	if err := tlsutil.WriteKeyPair(s.path, caKeyPairName, s.ca.CertPEM, s.ca.KeyPEM); err != nil {
		return fmt.Errorf("saving the CA: %w", err)
	}
	if s.masterKey, err = envelope.NewMasterKey(); err != nil {
		return fmt.Errorf("creating the master key: %w", err)
	}
	s.previewKey = make([]byte, persistedKeySize)
	_, _ = rand.Read(s.previewKey) // crypto/rand.Read never fails.
	for file, key := range map[string][]byte{masterKeyFile: s.masterKey, previewKeyFile: s.previewKey} {
		if err := os.WriteFile(filepath.Join(s.path, file), []byte(base64.StdEncoding.EncodeToString(key)+"\n"), keyFilePerm); err != nil {
			return fmt.Errorf("saving %s: %w", file, err)
		}
	}
	// state.json last: a directory without it is not reused.
	s.recorded = persistedState{Format: stateFormat, Organization: opts.Organization, Environment: opts.Environment,
		Targets: opts.Targets, Created: time.Now().UTC().Truncate(time.Second)}
	return s.saveRecorded()
}

// markComplete records that a start came up on the directory.
func (s *stateDir) markComplete() error {
	if s.recorded.Complete {
		return nil
	}
	s.recorded.Complete = true
	return s.saveRecorded()
}

// saveRecorded writes state.json (atomically: a crash leaves the old or the new file).
func (s *stateDir) saveRecorded() error {
	data, err := json.MarshalIndent(s.recorded, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", stateFileName, err)
	}
	path := filepath.Join(s.path, stateFileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), keyFilePerm); err != nil {
		return fmt.Errorf("saving %s: %w", stateFileName, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("saving %s: %w", stateFileName, err)
	}
	return nil
}

// load checks state.json against opts and reads the CA and keys an earlier run left.
func (s *stateDir) load(data []byte, opts Options) error {
	broken := func(what string, err error) error {
		return fmt.Errorf("state directory %s is broken: %s: %w; %s", s.path, what, err, freshFlagAdvice)
	}
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return broken(stateFileName, err)
	}
	if st.Format != stateFormat {
		return fmt.Errorf("state directory %s was written by an incompatible aurora dev (format %d; this one reads format %d); %s",
			s.path, st.Format, stateFormat, freshFlagAdvice)
	}
	if err := checkStateFits(st, opts); err != nil {
		return fmt.Errorf("state directory %s: %w", s.path, err)
	}
	var err error
	if s.ca, err = tlsutil.ReadCAFiles(s.path); err != nil {
		return broken("the dev CA", err)
	}
	if time.Until(s.ca.Cert.NotAfter) < servingValidity {
		return broken("the dev CA", fmt.Errorf("it expires on %s", s.ca.Cert.NotAfter.Format(time.DateOnly)))
	}
	if s.masterKey, err = readKeyFile(filepath.Join(s.path, masterKeyFile), envelope.ParseMasterKey); err != nil {
		return broken(masterKeyFile, err)
	}
	if s.previewKey, err = readKeyFile(filepath.Join(s.path, previewKeyFile), parsePreviewKey); err != nil {
		return broken(previewKeyFile, err)
	}
	if st.Complete {
		for _, name := range append([]string{"cloud"}, opts.Targets...) {
			if _, err := os.Stat(filepath.Join(s.clusterDataDir(name), "etcd")); err != nil {
				return broken("the data of cluster "+name, err)
			}
		}
	}
	s.recorded = st
	s.reused = true
	return nil
}

// checkStateFits returns an error naming the option an earlier run was started with differently.
func checkStateFits(st persistedState, opts Options) error {
	switch {
	case !slices.Equal(st.Targets, opts.Targets):
		return fmt.Errorf("it holds the target clusters %s, not the %s asked for: start with --targets %s, or %s",
			strings.Join(st.Targets, ","), strings.Join(opts.Targets, ","), strings.Join(st.Targets, ","), freshFlagAdvice)
	case st.Organization != opts.Organization || st.Environment != opts.Environment:
		return fmt.Errorf("it holds the tenant %s/%s, not the %s/%s asked for; %s",
			st.Organization, st.Environment, opts.Organization, opts.Environment, freshFlagAdvice)
	}
	return nil
}

// readKeyFile reads a key file and decodes it with parse; errors never quote the key.
func readKeyFile(path string, parse func(string) ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(string(data))
}

// parsePreviewKey decodes the base64 preview key.
func parsePreviewKey(text string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(key) != persistedKeySize {
		return nil, fmt.Errorf("expected %d bytes in base64", persistedKeySize)
	}
	return key, nil
}
