package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// verifierPattern is the code_verifier grammar of RFC 7636 §4.1; challengePattern is an S256
// challenge (43 base64url characters).
var (
	verifierPattern  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
	challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// checkChallenge validates the PKCE parameters of an authorization request: S256 only.
func checkChallenge(challenge, method string) error {
	if method != "S256" {
		return fmt.Errorf("code_challenge_method: want S256, got %q", method)
	}
	if !challengePattern.MatchString(challenge) {
		return fmt.Errorf("code_challenge: want the 43-character base64url SHA-256 of the code verifier")
	}
	return nil
}

// verifierMatches reports whether verifier is the one whose S256 challenge is challenge
// (RFC 7636 §4.6), in constant time.
func verifierMatches(verifier, challenge string) bool {
	if !verifierPattern.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// userCodeAlphabet has no vowels (no words) and no look-alikes (RFC 8628 §6.1): 20 letters, so a
// code of 8 carries 34.5 bits, and every guess spends the rate limit.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// newUserCode returns a user code such as WDJB-MJHT.
func newUserCode() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	var sb strings.Builder
	for i, x := range b {
		if i == 4 {
			sb.WriteByte('-')
		}
		// 256 is not a multiple of 20: reject nothing, the bias (under 1%) costs less than 0.1 bit.
		sb.WriteByte(userCodeAlphabet[int(x)%len(userCodeAlphabet)])
	}
	return sb.String(), nil
}

// normalizeUserCode upper-cases a typed user code and drops separators and spaces; ok is false
// when what is left cannot be a user code.
func normalizeUserCode(typed string) (string, bool) {
	var sb strings.Builder
	for _, c := range strings.ToUpper(typed) {
		switch {
		case c == '-' || c == ' ':
		case strings.ContainsRune(userCodeAlphabet, c):
			sb.WriteRune(c)
		default:
			return "", false
		}
	}
	code := sb.String()
	if len(code) != 8 {
		return "", false
	}
	return code[:4] + "-" + code[4:], true
}
