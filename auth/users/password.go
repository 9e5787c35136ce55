package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane), enough against offline guessing
// while a login costs a few tens of milliseconds.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
	// MinPasswordLength is the shortest password SetPassword accepts.
	MinPasswordLength = 12
	// MaxPasswordLength bounds the work a login form can ask for.
	MaxPasswordLength = 256
)

// HashPassword returns the argon2id hash of password in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), to be stored instead of it.
func HashPassword(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

// checkPassword refuses passwords too short to resist guessing or too long to hash cheaply.
func checkPassword(password string) error {
	switch n := len(password); {
	case n < MinPasswordLength:
		return fmt.Errorf("password: want at least %d characters, got %d", MinPasswordLength, n)
	case n > MaxPasswordLength:
		return fmt.Errorf("password: want at most %d characters, got %d", MaxPasswordLength, n)
	}
	return nil
}

// VerifyPassword reports whether password matches hash, in constant time. A malformed hash never
// matches.
func VerifyPassword(hash, password string) bool {
	p, err := parseHash(hash)
	if err != nil || len(password) > MaxPasswordLength {
		return false
	}
	sum := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.sum)))
	return subtle.ConstantTimeCompare(sum, p.sum) == 1
}

// ErrMalformedHash is returned for a password hash not in the argon2id PHC format.
var ErrMalformedHash = errors.New("malformed password hash: want $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>")

type argonHash struct {
	time, memory uint32
	threads      uint8
	salt, sum    []byte
}

// parseHash reads a PHC argon2id string, refusing parameters that would make a login expensive.
func parseHash(hash string) (argonHash, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return argonHash{}, ErrMalformedHash
	}
	var h argonHash
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil {
		return argonHash{}, ErrMalformedHash
	}
	if h.memory < 8 || h.memory > 256*1024 || h.time < 1 || h.time > 10 || h.threads < 1 || h.threads > 8 {
		return argonHash{}, ErrMalformedHash
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return argonHash{}, ErrMalformedHash
	}
	if h.sum, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.sum) < 16 || len(h.sum) > 64 {
		return argonHash{}, ErrMalformedHash
	}
	return h, nil
}

var (
	decoyOnce sync.Once
	decoy     string
)

// spendVerification does the work of one password verification against a hash nobody knows, so that
// an unknown user takes as long to refuse as a wrong password.
func spendVerification(password string) {
	decoyOnce.Do(func() {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		decoy, _ = HashPassword(base64.RawStdEncoding.EncodeToString(b))
	})
	_ = VerifyPassword(decoy, password)
}

// NewPassword returns a random password of 32 characters (192 bits).
func NewPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
