// Package clientsecret generates client ids and client secrets for MachineCredentials and verifies
// secrets against the hashes that are stored in their place.
//
// Secrets are 256 random bits, so a single SHA-256 is enough to make the stored hash useless to an
// attacker (no dictionary can reach them); a per-secret salt keeps equal secrets from sharing a hash.
// Verification compares in constant time.
package clientsecret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	// secretPrefix marks Aurora client secrets, so that secret scanners can find leaked ones.
	secretPrefix = "aur_"
	// scheme names the hash format: sha256$<salt hex>$<hash hex>.
	scheme = "sha256"
)

// NewClientID returns a random client id of 24 lower-case characters.
func NewClientID() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// NewSecret returns a random client secret with 256 bits of entropy.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the salted hash of secret, to be stored instead of it.
func Hash(secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return format(salt, digest(salt, secret)), nil
}

// Verify reports whether secret matches hash. A malformed hash never matches.
func Verify(hash, secret string) bool {
	salt, want, err := parse(hash)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(digest(salt, secret), want) == 1
}

// ErrMalformedHash is returned for a hash not made by Hash.
var ErrMalformedHash = errors.New("malformed client secret hash")

func digest(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

func format(salt, sum []byte) string {
	return scheme + "$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum)
}

func parse(hash string) (salt, sum []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 3 || parts[0] != scheme {
		return nil, nil, ErrMalformedHash
	}
	if salt, err = hex.DecodeString(parts[1]); err != nil || len(salt) == 0 {
		return nil, nil, ErrMalformedHash
	}
	if sum, err = hex.DecodeString(parts[2]); err != nil || len(sum) != sha256.Size {
		return nil, nil, ErrMalformedHash
	}
	return salt, sum, nil
}
