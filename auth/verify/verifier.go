package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/aurora-cd/aurora/auth/principal"
)

// maxTokenBytes bounds the size of a token the verifier will parse.
const maxTokenBytes = 16 << 10

// Verifier verifies Aurora access tokens against one issuer and audience. It is safe for
// concurrent use.
type Verifier struct {
	opts Options
	keys *cachedKeySet
}

// NewVerifier discovers the issuer, fetches its JWKS and returns a Verifier for it. It fails with
// ErrInvalidOptions for unusable options (including a "none" or HMAC algorithm), ErrDiscovery when
// the discovery document cannot be fetched or names another issuer, and ErrKeySetUnavailable when
// the JWKS cannot be fetched.
func NewVerifier(ctx context.Context, opts Options) (*Verifier, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	jwksURL, err := discover(ctx, opts.HTTPClient, opts.IssuerURL)
	if err != nil {
		return nil, err
	}
	keys, err := newCachedKeySet(ctx, opts.HTTPClient, jwksURL, opts.Now)
	if err != nil {
		return nil, err
	}
	return &Verifier{opts: opts, keys: keys}, nil
}

// Verify checks rawToken and returns its claims. Every refusal wraps ErrInvalidToken and a more
// specific sentinel (ErrExpired, ErrInvalidSignature, ...), except an unreachable issuer while
// looking up a new key, which wraps ErrKeySetUnavailable. No error contains the token.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*principal.Claims, error) {
	if rawToken == "" {
		return nil, ErrMissingToken
	}
	if len(rawToken) > maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedToken, maxTokenBytes)
	}
	alg, err := unverifiedAlgorithm(rawToken)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(v.opts.Algorithms, alg) {
		return nil, ErrUnsupportedAlgorithm
	}
	signed, err := jose.ParseSignedCompact(rawToken, v.opts.Algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedToken, err)
	}
	kid := signed.Signatures[0].Header.KeyID
	if kid == "" {
		return nil, fmt.Errorf("%w: token names no key id", ErrUnknownKey)
	}
	keys, err := v.keys.keysFor(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload, err := verifySignature(signed, keys, alg)
	if err != nil {
		return nil, err
	}
	claims := new(principal.Claims)
	if err := josejson.Unmarshal(payload, claims); err != nil {
		return nil, fmt.Errorf("%w: decoding claims: %w", ErrMalformedToken, err)
	}
	if err := v.validateClaims(claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// unverifiedAlgorithm reads the alg header of a compact JWS without verifying anything, so that a
// disallowed algorithm is reported as such rather than as a parse error.
func unverifiedAlgorithm(rawToken string) (jose.SignatureAlgorithm, error) {
	encodedHeader, _, found := strings.Cut(rawToken, ".")
	if !found || strings.Count(rawToken, ".") != 2 {
		return "", fmt.Errorf("%w: not a compact JWS", ErrMalformedToken)
	}
	headerJSON, err := base64.RawURLEncoding.DecodeString(encodedHeader)
	if err != nil {
		return "", fmt.Errorf("%w: header encoding: %w", ErrMalformedToken, err)
	}
	var header struct {
		Algorithm string `json:"alg"`
	}
	if err := json.Unmarshal(headerJSON, &header); err != nil {
		return "", fmt.Errorf("%w: header: %w", ErrMalformedToken, err)
	}
	return jose.SignatureAlgorithm(header.Algorithm), nil
}

// verifySignature returns the payload of signed if its signature verifies with one of keys that
// allows alg.
func verifySignature(signed *jose.JSONWebSignature, keys []jose.JSONWebKey, alg jose.SignatureAlgorithm) ([]byte, error) {
	for _, key := range keys {
		if key.Algorithm != "" && key.Algorithm != string(alg) {
			continue
		}
		if payload, err := signed.Verify(key); err == nil {
			return payload, nil
		}
	}
	return nil, ErrInvalidSignature
}

// validateClaims checks the registered claims and the principal of a token whose signature has
// been verified.
func (v *Verifier) validateClaims(claims *principal.Claims) error {
	if claims.Expiry == nil {
		return ErrMissingExpiry
	}
	expected := jwt.Expected{
		Issuer:      v.opts.IssuerURL,
		AnyAudience: jwt.Audience{v.opts.Audience},
		Time:        v.opts.Now(),
	}
	if err := claims.ValidateWithLeeway(expected, v.opts.Leeway); err != nil {
		return registeredClaimError(err)
	}
	p := claims.Principal
	if p.Type != principal.User && p.Type != principal.Machine {
		return fmt.Errorf("%w: principal type must be %q or %q", ErrInvalidPrincipal, principal.User, principal.Machine)
	}
	if p.Organization == "" || p.Environment == "" {
		return fmt.Errorf("%w: principal names no organization or environment", ErrInvalidPrincipal)
	}
	return nil
}

// registeredClaimError maps a go-jose claim validation error to this package's sentinels.
func registeredClaimError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return ErrInvalidIssuer
	case errors.Is(err, jwt.ErrInvalidAudience):
		return ErrInvalidAudience
	case errors.Is(err, jwt.ErrExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return fmt.Errorf("%w: issued in the future", ErrNotYetValid)
	default:
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
}
