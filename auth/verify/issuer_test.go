package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// testAudience is the audience the test verifiers require.
const testAudience = "aurora-api"

// testEpoch is where every test clock starts.
var testEpoch = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// newFakeClock returns a clock standing at testEpoch.
func newFakeClock() *fakeClock { return &fakeClock{now: testEpoch} }

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// signingKey is one of the test issuer's ES256 keys.
type signingKey struct {
	kid     string
	private *ecdsa.PrivateKey
}

// newSigningKey makes a P-256 key with the given kid.
func newSigningKey(t testing.TB, kid string) signingKey {
	t.Helper()
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating key %s: %v", kid, err)
	}
	return signingKey{kid: kid, private: private}
}

// testIssuer is an OIDC issuer over real TLS: it serves a discovery document and a JWKS, counts
// JWKS requests, rotates and retires keys, and signs arbitrary claims.
type testIssuer struct {
	server *httptest.Server
	clock  *fakeClock

	jwksHits atomic.Int64

	mu              sync.Mutex
	published       []signingKey
	current         signingKey
	extraJWKS       []json.RawMessage
	jwksStatus      int
	discoveryIssuer string
}

// newTestIssuer starts an issuer with one published key, stopped when the test ends.
func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	issuer := &testIssuer{clock: newFakeClock(), jwksStatus: http.StatusOK}
	issuer.current = newSigningKey(t, "key-1")
	issuer.published = []signingKey{issuer.current}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", issuer.serveDiscovery)
	mux.HandleFunc("GET /jwks", issuer.serveJWKS)
	issuer.server = httptest.NewTLSServer(mux)
	t.Cleanup(issuer.server.Close)
	return issuer
}

// URL is the issuer URL.
func (i *testIssuer) URL() string { return i.server.URL }

// serveDiscovery serves the OpenID Provider configuration.
func (i *testIssuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	issuer := i.discoveryIssuer
	i.mu.Unlock()
	if issuer == "" {
		issuer = i.URL()
	}
	writeJSON(w, map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              i.URL() + "/jwks",
		"token_endpoint":                        i.URL() + "/token",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
	})
}

// serveJWKS serves the published public keys plus any extra raw entries.
func (i *testIssuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	i.jwksHits.Add(1)
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.jwksStatus != http.StatusOK {
		http.Error(w, "unavailable", i.jwksStatus)
		return
	}
	keys := make([]any, 0, len(i.published)+len(i.extraJWKS))
	for _, key := range i.published {
		keys = append(keys, jose.JSONWebKey{Key: &key.private.PublicKey, KeyID: key.kid, Algorithm: string(jose.ES256), Use: "sig"})
	}
	for _, raw := range i.extraJWKS {
		keys = append(keys, raw)
	}
	writeJSON(w, map[string]any{"keys": keys})
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// rotate publishes a new key next to the old ones and signs with it from now on.
func (i *testIssuer) rotate(t testing.TB, kid string) {
	t.Helper()
	key := newSigningKey(t, kid)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.published = append(i.published, key)
	i.current = key
}

// retire stops publishing the key with kid.
func (i *testIssuer) retire(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	kept := i.published[:0]
	for _, key := range i.published {
		if key.kid != kid {
			kept = append(kept, key)
		}
	}
	i.published = kept
}

// setJWKSStatus makes the JWKS endpoint answer status (200 restores it).
func (i *testIssuer) setJWKSStatus(status int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwksStatus = status
}

// addJWKSEntry publishes a raw JWKS entry next to the issuer's keys.
func (i *testIssuer) addJWKSEntry(raw []byte) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.extraJWKS = append(i.extraJWKS, raw)
}

// setDiscoveryIssuer makes the discovery document name issuer instead of the issuer's URL.
func (i *testIssuer) setDiscoveryIssuer(issuer string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.discoveryIssuer = issuer
}

// currentKey returns the key the issuer signs with.
func (i *testIssuer) currentKey() signingKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current
}

// options returns verifier options for this issuer, trusting its TLS certificate and using its
// clock.
func (i *testIssuer) options() Options {
	return Options{
		IssuerURL:  i.URL(),
		Audience:   testAudience,
		HTTPClient: i.server.Client(),
		Now:        i.clock.Now,
	}
}

// newVerifier returns a verifier of this issuer, failing the test on error.
func (i *testIssuer) newVerifier(t testing.TB) *Verifier {
	t.Helper()
	verifier, err := NewVerifier(t.Context(), i.options())
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return verifier
}

// claims returns valid claims for a machine of tenant acme/prod holding scopes, issued now and
// expiring in ten minutes by the issuer's clock.
func (i *testIssuer) claims(scopes ...iamv1alpha1.Scope) principal.Claims {
	now := i.clock.Now()
	names := make([]string, len(scopes))
	for n, scope := range scopes {
		names[n] = string(scope)
	}
	return principal.Claims{
		Claims: jwt.Claims{
			Issuer:    i.URL(),
			Subject:   "machine:acme:prod:deployer",
			Audience:  jwt.Audience{testAudience},
			Expiry:    jwt.NewNumericDate(now.Add(10 * time.Minute)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        "jti-1",
		},
		Scope: principal.ScopeString(names),
		Principal: principal.Principal{
			Type:         principal.Machine,
			Name:         "deployer",
			Organization: "acme",
			Environment:  "prod",
			Scopes:       names,
			ClientID:     "client-1",
		},
	}
}

// sign signs claims with the issuer's current key.
func (i *testIssuer) sign(t testing.TB, claims any) string {
	t.Helper()
	key := i.currentKey()
	return signES(t, jose.ES256, key.private, key.kid, claims)
}

// signES signs claims (a value or raw []byte payload) with an ECDSA key, naming kid when not empty.
func signES(t testing.TB, alg jose.SignatureAlgorithm, private *ecdsa.PrivateKey, kid string, claims any) string {
	t.Helper()
	var key any = private
	if kid != "" {
		key = jose.JSONWebKey{Key: private, KeyID: kid}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("creating signer: %v", err)
	}
	if payload, ok := claims.([]byte); ok {
		signed, err := signer.Sign(payload)
		if err != nil {
			t.Fatalf("signing payload: %v", err)
		}
		compact, err := signed.CompactSerialize()
		if err != nil {
			t.Fatalf("serializing: %v", err)
		}
		return compact
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("signing claims: %v", err)
	}
	return token
}

// handCrafted builds a compact JWS from a header and claims, with the signature computed by sign
// over the signing input (nil sign leaves the signature empty, as alg "none" does).
func handCrafted(t testing.TB, header map[string]any, claims any, sign func(signingInput []byte) []byte) string {
	t.Helper()
	headerJSON, err := json.Marshal(header)
	if err != nil {
		t.Fatalf("encoding header: %v", err)
	}
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("encoding claims: %v", err)
	}
	signingInput := base64.RawURLEncoding.EncodeToString(headerJSON) + "." + base64.RawURLEncoding.EncodeToString(claimsJSON)
	var signature []byte
	if sign != nil {
		signature = sign([]byte(signingInput))
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(signature)
}

// hmacWith returns a signer computing HMAC-SHA256 with secret.
func hmacWith(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write(input)
		return mac.Sum(nil)
	}
}

// publicKeySecrets are the byte strings an attacker might use as an HMAC secret in an algorithm
// confusion attack: the issuer's public key as PEM, as DER and as its JWK.
func publicKeySecrets(t testing.TB, key signingKey) map[string][]byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.private.PublicKey)
	if err != nil {
		t.Fatalf("encoding public key: %v", err)
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &key.private.PublicKey, KeyID: key.kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatalf("encoding JWK: %v", err)
	}
	return map[string][]byte{
		"pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"der": der,
		"jwk": jwk,
	}
}

// randomKID returns a key id the issuer never published.
func randomKID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("reading random: %v", err)
	}
	return fmt.Sprintf("random-%x", b)
}
