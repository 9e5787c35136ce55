package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Errors Open returns, wrapped with details that never include key material or plaintext.
var (
	// ErrWrongMasterKey means the value was sealed under another master key than the Sealer's.
	ErrWrongMasterKey = errors.New("wrong master key")
	// ErrCorrupt means the sealed value is damaged or was tampered with, or was sealed for other
	// associated data (a value moved to another place): the two cannot be told apart.
	ErrCorrupt = errors.New("sealed value is corrupt")
	// ErrUnsupportedVersion means the value was sealed in a format version this build cannot read.
	ErrUnsupportedVersion = errors.New("sealed value has an unsupported format version")
)

// MasterKeySize is the length of a master key in bytes (AES-256).
const MasterKeySize = 32

// keyIDLabel is the message of the HMAC that derives a master key's id.
const keyIDLabel = "aurora envelope master key id v1"

// Sealer seals and opens values under one master key. It is safe for concurrent use.
type Sealer struct {
	masterKey cipher.AEAD // AES-256-GCM under the master key: wraps data keys
	keyID     []byte
}

// NewSealer returns a Sealer for masterKey, which must be exactly 32 bytes (see ParseMasterKey and
// NewMasterKey). The Sealer keeps no copy of masterKey's slice; the caller may clear it afterwards.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("new sealer: the master key is %d bytes, want %d", len(masterKey), MasterKeySize)
	}
	if allZero(masterKey) {
		return nil, errors.New("new sealer: the master key is all zero bytes")
	}
	aead, err := newAESGCM(masterKey)
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	return &Sealer{masterKey: aead, keyID: masterKeyID(masterKey)}, nil
}

// KeyID returns the id of the Sealer's master key in hex: the first 8 bytes of HMAC-SHA256 keyed with
// the master key. It identifies the key (sealed values carry it) without revealing anything about it.
func (s *Sealer) KeyID() string {
	return hex.EncodeToString(s.keyID)
}

// Seal encrypts plaintext under a fresh data key, wraps the data key under the master key, and binds
// both to associatedData, which Open must be given again. Sealing the same plaintext twice gives
// different results.
func (s *Sealer) Seal(plaintext, associatedData []byte) ([]byte, error) {
	dataKey := make([]byte, dataKeySize)
	defer clear(dataKey)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("seal: generate data key: %w", err)
	}
	keyNonce, err := randomNonce()
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	nonce, err := randomNonce()
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	dataAEAD, err := newAESGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	header := newHeader(s.keyID)
	aad := authenticatedData(header, associatedData)
	return sealedValue{
		header:     header,
		keyNonce:   keyNonce,
		wrappedKey: s.masterKey.Seal(nil, keyNonce, dataKey, aad),
		nonce:      nonce,
		ciphertext: dataAEAD.Seal(nil, nonce, plaintext, aad),
	}.marshal(), nil
}

// Open returns the plaintext of a value Seal sealed for associatedData. Its errors wrap
// ErrWrongMasterKey when the value was sealed under another master key, ErrUnsupportedVersion for a
// format this build cannot read, and ErrCorrupt when the value is damaged, was tampered with, or was
// sealed for other associated data.
func (s *Sealer) Open(sealed, associatedData []byte) ([]byte, error) {
	value, err := parseSealedValue(sealed)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if !bytes.Equal(value.keyID, s.keyID) {
		return nil, fmt.Errorf("open: %w: the value was sealed under master key id %x, not under this master key (id %s)",
			ErrWrongMasterKey, value.keyID, s.KeyID())
	}
	aad := authenticatedData(value.header, associatedData)
	dataKey, err := s.masterKey.Open(nil, value.keyNonce, value.wrappedKey, aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w: the data key fails authentication (the value was altered, or sealed for other associated data)", ErrCorrupt)
	}
	defer clear(dataKey)
	dataAEAD, err := newAESGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	plaintext, err := dataAEAD.Open(make([]byte, 0, len(value.ciphertext)), value.nonce, value.ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w: the ciphertext fails authentication (the value was altered)", ErrCorrupt)
	}
	return plaintext, nil
}

// SealedKeyID returns the id (see Sealer.KeyID) of the master key sealed was sealed under. Its errors
// wrap ErrCorrupt or ErrUnsupportedVersion.
func SealedKeyID(sealed []byte) (string, error) {
	value, err := parseSealedValue(sealed)
	if err != nil {
		return "", fmt.Errorf("read master key id: %w", err)
	}
	return hex.EncodeToString(value.keyID), nil
}

// newAESGCM returns AES-GCM with standard 12-byte nonces under a 32-byte key.
func newAESGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create AES-GCM: %w", err)
	}
	return aead, nil
}

// randomNonce returns a random 96-bit nonce.
func randomNonce() ([]byte, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return nonce, nil
}

// authenticatedData is what both encryptions of a value authenticate: its header, then the caller's
// associated data. The header has a fixed length, so the concatenation is unambiguous.
func authenticatedData(header, associatedData []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(associatedData)), header...), associatedData...)
}

// masterKeyID derives the id of a master key: HMAC-SHA256 keyed with it over a fixed label, truncated.
func masterKeyID(masterKey []byte) []byte {
	mac := hmac.New(sha256.New, masterKey)
	mac.Write([]byte(keyIDLabel))
	return mac.Sum(nil)[:keyIDSize]
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
