package keys

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aurora-cd/aurora/internal/envelope"
)

// maxSyncAttempts bounds how often a sync rereads the Secret after losing a race to another writer.
const maxSyncAttempts = 20

// decideFunc returns how records change at now, using p to create keys, and what changed; no change
// means no write.
type decideFunc func(p planner, records []keyRecord, now time.Time) ([]keyRecord, []keyChange, error)

// sync reads the Secret (treating a missing Secret as one without keys), opens every key, applies
// decide, writes the result if anything changed (creating the Secret, or updating it at the
// resourceVersion it was read at), and returns the resulting keyring. When another writer wins a race
// (AlreadyExists, Conflict, NotFound), it reads again and decides again. It never writes when a key
// fails to open.
func (m *Manager) sync(ctx context.Context, decide decideFunc) (*keyring, []keyChange, error) {
	for attempt := 1; ; attempt++ {
		ring, changes, err := m.syncOnce(ctx, decide)
		if err == nil || !errors.Is(err, errLostRace) {
			return ring, changes, err
		}
		if attempt == maxSyncAttempts {
			return nil, nil, fmt.Errorf("gave up after %d attempts, the Secret kept changing: %w", attempt, err)
		}
		if err := sleep(ctx, syncBackoff(attempt)); err != nil {
			return nil, nil, err
		}
	}
}

// syncOnce is one attempt of sync.
func (m *Manager) syncOnce(ctx context.Context, decide decideFunc) (*keyring, []keyChange, error) {
	secret, err := m.store.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	var records []keyRecord
	if secret != nil {
		file, err := decodeKeyFile(secret.Data[SecretDataKey])
		if err != nil {
			return nil, nil, err
		}
		records = file.Keys
	}

	privates := make(map[string]*ecdsa.PrivateKey, len(records)+1)
	for _, record := range records {
		private, err := m.sealer.openPrivateKey(record)
		if err != nil {
			return nil, nil, m.describeOpenError(record, err)
		}
		privates[record.KeyID] = private
	}

	p := planner{opts: m.opts, newKey: func(now time.Time) (keyRecord, error) {
		record, private, err := m.sealer.newKeyRecord(now)
		if err != nil {
			return keyRecord{}, err
		}
		privates[record.KeyID] = private
		return record, nil
	}}
	updated, changes, err := decide(p, records, m.opts.Now().Round(0).UTC())
	if err != nil {
		return nil, nil, err
	}
	if len(changes) > 0 {
		if err := m.write(ctx, secret, updated); err != nil {
			return nil, nil, err
		}
	}
	ring, err := newKeyring(updated, privates)
	if err != nil {
		return nil, nil, err
	}
	return ring, changes, nil
}

// write stores records in the Secret: creating it when secret is nil, else updating it.
func (m *Manager) write(ctx context.Context, secret *corev1.Secret, records []keyRecord) error {
	data, err := encodeKeyFile(records)
	if err != nil {
		return err
	}
	if secret == nil {
		return m.store.create(ctx, data)
	}
	return m.store.update(ctx, secret, data)
}

// describeOpenError explains why record's private key did not open. A wrong master key gets a message
// of its own, with the ids (never the content) of both master keys.
func (m *Manager) describeOpenError(record keyRecord, err error) error {
	if !errors.Is(err, envelope.ErrWrongMasterKey) {
		return fmt.Errorf("open signing key %s: %w", record.KeyID, err)
	}
	sealedUnder, idErr := envelope.SealedKeyID(record.SealedPrivateKey)
	if idErr != nil {
		sealedUnder = "unknown"
	}
	return fmt.Errorf("the master key does not match the one the signing keys were sealed with "+
		"(they were sealed under master key id %s; the configured master key's id is %s): configure that "+
		"master key, or delete the Secret to start over with new keys, which invalidates every token issued so far: %w",
		sealedUnder, m.sealer.sealer.KeyID(), envelope.ErrWrongMasterKey)
}

// syncBackoff is the jittered pause before attempt+1: 10ms doubling up to 640ms, ±50%.
func syncBackoff(attempt int) time.Duration {
	base := 10 * time.Millisecond << min(attempt-1, 6)
	return time.Duration(float64(base) * (0.5 + rand.Float64()))
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
