package hub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MinPreviewKeyBytes is the shortest key that may sign preview links.
const MinPreviewKeyBytes = 32

// Errors of a preview link's verification.
var (
	// ErrPreviewMalformed means the token is not one the Hub issues.
	ErrPreviewMalformed = errors.New("the preview link is malformed")
	// ErrPreviewForged means the token's signature does not match: forged or altered.
	ErrPreviewForged = errors.New("the preview link's signature does not match")
	// ErrPreviewExpired means the link's time to live is over.
	ErrPreviewExpired = errors.New("the preview link expired")
)

// PreviewTarget is what a preview link reaches: a Service of an agent's cluster, until a time.
type PreviewTarget struct {
	// Tenant is the tenant namespace of the agent (from its token, never from the link's user).
	Tenant string `json:"t"`
	// Agent is the agent identifier.
	Agent string `json:"a"`
	// Namespace is the Service's namespace in the agent's cluster.
	Namespace string `json:"n"`
	// Service is the Service's name.
	Service string `json:"s"`
	// ExpiresAt is the end of the link's life, in Unix seconds.
	ExpiresAt int64 `json:"e"`
}

// signPreview returns the token of a link to target: the target as base64url JSON, a dot, and its
// HMAC-SHA256 under key. Signing the same target twice gives the same token.
func signPreview(key []byte, target PreviewTarget) string {
	payload, _ := json.Marshal(target) // A struct of strings and an integer always encodes.
	encoded := base64.RawURLEncoding.EncodeToString(payload)
	return encoded + "." + base64.RawURLEncoding.EncodeToString(previewMAC(key, encoded))
}

// verifyPreview checks a token's signature under key and that it has not expired at now, and
// returns its target.
func verifyPreview(key []byte, token string, now time.Time) (PreviewTarget, error) {
	encoded, sig, ok := strings.Cut(token, ".")
	if !ok || encoded == "" || sig == "" {
		return PreviewTarget{}, ErrPreviewMalformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return PreviewTarget{}, ErrPreviewMalformed
	}
	if !hmac.Equal(mac, previewMAC(key, encoded)) {
		return PreviewTarget{}, ErrPreviewForged
	}
	payload, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return PreviewTarget{}, ErrPreviewMalformed
	}
	var target PreviewTarget
	if err := json.Unmarshal(payload, &target); err != nil || target.Tenant == "" || target.Agent == "" ||
		target.Namespace == "" || target.Service == "" {
		return PreviewTarget{}, ErrPreviewMalformed
	}
	if !now.Before(time.Unix(target.ExpiresAt, 0)) {
		return PreviewTarget{}, fmt.Errorf("%w at %s", ErrPreviewExpired, time.Unix(target.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	return target, nil
}

// previewMAC is the HMAC-SHA256 of the encoded payload under key, with a context prefix so that
// the key signs nothing else by accident.
func previewMAC(key []byte, encoded string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("aurora-preview-v1:"))
	m.Write([]byte(encoded))
	return m.Sum(nil)
}
