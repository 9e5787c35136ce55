package keys

import (
	"cmp"
	"crypto/ecdsa"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keyring is the keys a Manager loaded: a signer for the current key and the public keys of all.
// It is immutable once built.
type keyring struct {
	currentKeyID string
	signer       jose.Signer
	// keys are every record's public key: current first, then next, then retired newest first.
	keys []publicKey
}

// publicKey is a key's public half with the record's metadata.
type publicKey struct {
	kid       string
	state     keyState
	retiredAt time.Time
	public    *ecdsa.PublicKey
}

// newKeyring builds the keyring of records, whose private keys are in privates by kid. Exactly one
// record must be current.
func newKeyring(records []keyRecord, privates map[string]*ecdsa.PrivateKey) (*keyring, error) {
	ring := &keyring{currentKeyID: currentKeyID(records)}
	if ring.currentKeyID == "" {
		return nil, fmt.Errorf("no current signing key among %d keys", len(records))
	}
	for _, record := range records {
		private, ok := privates[record.KeyID]
		if !ok {
			return nil, fmt.Errorf("signing key %s was not opened", record.KeyID)
		}
		key := publicKey{kid: record.KeyID, state: record.state(), public: &private.PublicKey}
		if record.RetiredAt != nil {
			key.retiredAt = *record.RetiredAt
		}
		ring.keys = append(ring.keys, key)
	}
	slices.SortFunc(ring.keys, func(a, b publicKey) int {
		return cmp.Or(
			cmp.Compare(stateOrder(a.state), stateOrder(b.state)),
			b.retiredAt.Compare(a.retiredAt),
			cmp.Compare(a.kid, b.kid))
	})

	signingKey := jose.SigningKey{
		Algorithm: Algorithm,
		Key:       jose.JSONWebKey{Key: privates[ring.currentKeyID], KeyID: ring.currentKeyID, Algorithm: string(Algorithm), Use: "sig"},
	}
	signer, err := jose.NewSigner(signingKey, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("create signer for key %s: %w", ring.currentKeyID, err)
	}
	ring.signer = signer
	return ring, nil
}

// stateOrder orders keys in a JWKS: current, next, retired.
func stateOrder(state keyState) int {
	switch state {
	case stateCurrent:
		return 0
	case stateNext:
		return 1
	default:
		return 2
	}
}

// publicKeys returns the JWKS at now: every key except retired keys whose retention has ended.
func (r *keyring) publicKeys(now time.Time, retention time.Duration) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, key := range r.keys {
		if key.state == stateRetired && !now.Before(key.retiredAt.Add(retention)) {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       key.public,
			KeyID:     key.kid,
			Algorithm: string(Algorithm),
			Use:       "sig",
		})
	}
	return set
}
