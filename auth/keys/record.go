package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/aurora-cd/aurora/internal/envelope"
)

// SecretDataKey is the Secret's data key that holds the key records.
const SecretDataKey = "keys.json"

// Algorithm is the JWS algorithm of every key.
const Algorithm = jose.ES256

// keyFileVersion is the version of the keys.json layout this build writes and reads.
const keyFileVersion = 1

// keyFile is the content of keys.json.
type keyFile struct {
	Version int         `json:"version"`
	Keys    []keyRecord `json:"keys"`
}

// keyRecord is one signing key in keys.json: public metadata and the sealed private key.
type keyRecord struct {
	KeyID            string     `json:"kid"`
	Algorithm        string     `json:"alg"`
	CreatedAt        time.Time  `json:"createdAt"`
	ActivatedAt      *time.Time `json:"activatedAt,omitempty"`
	RetiredAt        *time.Time `json:"retiredAt,omitempty"`
	SealedPrivateKey []byte     `json:"sealedPrivateKey"`
}

// keyState is where a key is in its lifecycle.
type keyState int

const (
	// stateNext: published, not yet signing.
	stateNext keyState = iota
	// stateCurrent: signing.
	stateCurrent
	// stateRetired: no longer signing, published until its retention ends.
	stateRetired
)

// state returns the record's lifecycle state.
func (r keyRecord) state() keyState {
	switch {
	case r.RetiredAt != nil:
		return stateRetired
	case r.ActivatedAt != nil:
		return stateCurrent
	default:
		return stateNext
	}
}

// decodeKeyFile parses keys.json. Empty data is a file without keys.
func decodeKeyFile(data []byte) (keyFile, error) {
	if len(data) == 0 {
		return keyFile{Version: keyFileVersion}, nil
	}
	var file keyFile
	if err := json.Unmarshal(data, &file); err != nil {
		return keyFile{}, fmt.Errorf("%s is not valid: %w", SecretDataKey, err)
	}
	switch {
	case file.Version > keyFileVersion:
		return keyFile{}, fmt.Errorf("%s has version %d, written by a newer Aurora (this build reads version %d)", SecretDataKey, file.Version, keyFileVersion)
	case file.Version != keyFileVersion:
		return keyFile{}, fmt.Errorf("%s has no valid version (%d)", SecretDataKey, file.Version)
	}
	seen := make(map[string]bool, len(file.Keys))
	for i, record := range file.Keys {
		switch {
		case record.KeyID == "":
			return keyFile{}, fmt.Errorf("%s: key %d has no kid", SecretDataKey, i)
		case seen[record.KeyID]:
			return keyFile{}, fmt.Errorf("%s: kid %s appears twice", SecretDataKey, record.KeyID)
		case record.Algorithm != string(Algorithm):
			return keyFile{}, fmt.Errorf("%s: key %s has algorithm %q, want %s", SecretDataKey, record.KeyID, record.Algorithm, Algorithm)
		}
		seen[record.KeyID] = true
	}
	return file, nil
}

// encodeKeyFile returns keys.json for records.
func encodeKeyFile(records []keyRecord) ([]byte, error) {
	data, err := json.Marshal(keyFile{Version: keyFileVersion, Keys: records})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", SecretDataKey, err)
	}
	return data, nil
}

// keySealer seals and opens the private keys of one Secret.
type keySealer struct {
	sealer *envelope.Sealer
	// place is "<namespace>/<name>/keys.json/": a key's associated data is place + kid.
	place string
}

// newKeyRecord generates a P-256 key created at now and returns its record (not activated) and the
// private key.
func (s keySealer) newKeyRecord(now time.Time) (keyRecord, *ecdsa.PrivateKey, error) {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyRecord{}, nil, fmt.Errorf("generate signing key: %w", err)
	}
	kid, err := thumbprint(&private.PublicKey)
	if err != nil {
		return keyRecord{}, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return keyRecord{}, nil, fmt.Errorf("encode signing key %s: %w", kid, err)
	}
	defer clear(der)
	sealed, err := s.sealer.Seal(der, s.associatedData(kid))
	if err != nil {
		return keyRecord{}, nil, fmt.Errorf("seal signing key %s: %w", kid, err)
	}
	return keyRecord{KeyID: kid, Algorithm: string(Algorithm), CreatedAt: now, SealedPrivateKey: sealed}, private, nil
}

// openPrivateKey unseals the record's private key and checks that it is a P-256 key whose thumbprint
// is the record's kid. Errors wrap envelope.ErrWrongMasterKey or envelope.ErrCorrupt when they apply.
func (s keySealer) openPrivateKey(record keyRecord) (*ecdsa.PrivateKey, error) {
	der, err := s.sealer.Open(record.SealedPrivateKey, s.associatedData(record.KeyID))
	if err != nil {
		return nil, err
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the private key does not parse", envelope.ErrCorrupt)
	}
	private, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || private.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the private key is a %T, not an ECDSA P-256 key", envelope.ErrCorrupt, parsed)
	}
	kid, err := thumbprint(&private.PublicKey)
	if err != nil {
		return nil, err
	}
	if kid != record.KeyID {
		return nil, fmt.Errorf("%w: the private key's thumbprint is not its kid", envelope.ErrCorrupt)
	}
	return private, nil
}

// associatedData binds a sealed private key to its Secret, data key and kid.
func (s keySealer) associatedData(kid string) []byte {
	return []byte(s.place + kid)
}

// thumbprint returns the RFC 7638 SHA-256 thumbprint of public, base64url without padding: the kid.
func thumbprint(public *ecdsa.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: public}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("compute key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
