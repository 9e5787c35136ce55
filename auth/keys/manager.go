package keys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/aurora-cd/aurora/internal/envelope"
)

// ErrNotLoaded is returned by Sign before the first successful Load.
var ErrNotLoaded = errors.New("signing keys are not loaded yet")

// Manager keeps the signing keys of one Secret: it loads, creates and rotates them, signs tokens with
// the current key and publishes the public keys. Its methods are safe for concurrent use; any number
// of Managers (replicas) may share one Secret.
type Manager struct {
	opts   Options
	sealer keySealer
	store  secretStore
	// syncMu serializes this Manager's reads and writes of the Secret.
	syncMu sync.Mutex
	// ring holds the keys loaded last; nil before the first successful Load.
	ring atomic.Pointer[keyring]
}

// NewManager returns a Manager for opts. It does not touch the API server: call Load (or Run) next.
func NewManager(opts Options) (*Manager, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new signing key manager: %w", err)
	}
	sealer, err := envelope.NewSealer(opts.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("new signing key manager: %w", err)
	}
	opts.MasterKey = nil // the sealer holds what it needs
	key := client.ObjectKey{Namespace: opts.Namespace, Name: opts.SecretName}
	return &Manager{
		opts:   opts,
		sealer: keySealer{sealer: sealer, place: fmt.Sprintf("%s/%s/%s/", key.Namespace, key.Name, SecretDataKey)},
		store:  secretStore{client: opts.Client, key: key},
	}, nil
}

// Load reads the Secret and opens its keys, creating the Secret with a first key when it does not
// exist (when another replica creates it first, Load reads theirs), and applies the rotation schedule
// (see the package documentation), writing the Secret if that changes anything. On success the Manager
// signs with the current key; on error it keeps the keys it loaded before, if any.
//
// A master key other than the one the keys were sealed with fails with an error that says so and
// wraps envelope.ErrWrongMasterKey; a damaged or tampered Secret fails with an error (wrapping
// envelope.ErrCorrupt where a key fails to open). Load never writes a Secret whose keys it cannot open.
func (m *Manager) Load(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	ring, changes, err := m.sync(ctx, func(p planner, records []keyRecord, now time.Time) ([]keyRecord, []keyChange, error) {
		return p.scheduled(records, now)
	})
	if err != nil {
		return fmt.Errorf("load signing keys from Secret %s: %w", m.store.key, err)
	}
	m.install(ctx, ring, changes)
	return nil
}

// Rotate retires the current key and makes the next key (or, if there is none, a new key) current
// at once, skipping the schedule's waiting period. If another replica rotates the Secret while Rotate
// runs, Rotate adopts that rotation instead of rotating a second time.
func (m *Manager) Rotate(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	var (
		decided         bool
		expectedCurrent string
	)
	ring, changes, err := m.sync(ctx, func(p planner, records []keyRecord, now time.Time) ([]keyRecord, []keyChange, error) {
		current := currentKeyID(records)
		if !decided {
			decided, expectedCurrent = true, current
		}
		if current != expectedCurrent { // another replica rotated since our first read
			return p.scheduled(records, now)
		}
		return p.rotated(records, now)
	})
	if err != nil {
		return fmt.Errorf("rotate signing keys in Secret %s: %w", m.store.key, err)
	}
	m.install(ctx, ring, changes)
	return nil
}

// Run keeps the keys up to date until ctx ends: it loads them first unless Load succeeded before
// (returning that error), then reloads every Options.ReloadInterval, which rotates them when due.
// Errors of later reloads are logged (to the logger of ctx) and the keys loaded before stay in use.
// Run returns nil when ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	if m.ring.Load() == nil {
		if err := m.Load(ctx); err != nil {
			return err
		}
	}
	ticker := time.NewTicker(m.opts.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := m.Load(ctx); err != nil && ctx.Err() == nil {
				logf.FromContext(ctx).Error(err, "Reloading signing keys failed; signing with the keys loaded before",
					"currentKeyID", m.CurrentKeyID())
			}
		}
	}
}

// Sign returns claims (a struct or a map that encodes as a JSON object, such as jwt.Claims) as a
// compact JWS signed with the current key, with the headers alg ES256, kid and typ JWT. It fails
// with ErrNotLoaded before the first successful Load.
func (m *Manager) Sign(claims any) (string, error) {
	ring := m.ring.Load()
	if ring == nil {
		return "", fmt.Errorf("sign token: %w", ErrNotLoaded)
	}
	token, err := jwt.Signed(ring.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token with key %s: %w", ring.currentKeyID, err)
	}
	return token, nil
}

// PublicKeys returns the JWKS that verifies the tokens this Manager and its peers sign: the current
// key, the next key, and retired keys until their retention ends (per Options.Now). Each key has use
// "sig", alg ES256 and its kid. The set is empty before the first successful Load.
func (m *Manager) PublicKeys() jose.JSONWebKeySet {
	ring := m.ring.Load()
	if ring == nil {
		return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	}
	return ring.publicKeys(m.opts.Now(), m.opts.retention())
}

// CurrentKeyID returns the kid Sign signs with, or "" before the first successful Load.
func (m *Manager) CurrentKeyID() string {
	if ring := m.ring.Load(); ring != nil {
		return ring.currentKeyID
	}
	return ""
}

// install makes ring the Manager's keys and logs the changes that led to it.
func (m *Manager) install(ctx context.Context, ring *keyring, changes []keyChange) {
	m.ring.Store(ring)
	log := logf.FromContext(ctx).WithValues("secret", m.store.key.String())
	for _, change := range changes {
		log.Info("Signing key "+change.action, "kid", change.kid)
	}
}
