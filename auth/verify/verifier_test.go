package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

func TestVerifyValidToken(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	want := issuer.claims(iamv1alpha1.ScopeDeploymentFull)

	got, err := verifier.Verify(t.Context(), issuer.sign(t, want))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != want.Subject || got.Issuer != issuer.URL() || !got.Audience.Contains(testAudience) {
		t.Errorf("registered claims = %+v, want %+v", got.Claims, want.Claims)
	}
	if got.Principal.Organization != "acme" || got.Principal.Environment != "prod" ||
		got.Principal.Type != principal.Machine || got.Principal.ClientID != "client-1" {
		t.Errorf("principal = %+v, want %+v", got.Principal, want.Principal)
	}
	if !got.Principal.HasScope(iamv1alpha1.ScopeDeploymentFull) || got.Scope != string(iamv1alpha1.ScopeDeploymentFull) {
		t.Errorf("scopes = %q / %v, want %s", got.Scope, got.Principal.Scopes, iamv1alpha1.ScopeDeploymentFull)
	}
}

func TestVerifyAcceptsClaims(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	now := issuer.clock.Now()
	tests := []struct {
		name   string
		mutate func(*principal.Claims)
	}{
		{"expired within leeway", func(c *principal.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-DefaultLeeway + time.Second)) }},
		{"not before within leeway", func(c *principal.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(DefaultLeeway - time.Second)) }},
		{"audience among several", func(c *principal.Claims) { c.Audience = jwt.Audience{"other", testAudience} }},
		{"no nbf and no iat", func(c *principal.Claims) { c.NotBefore, c.IssuedAt = nil, nil }},
		{"user principal", func(c *principal.Claims) { c.Principal.Type, c.Principal.ClientID = principal.User, "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := issuer.claims(iamv1alpha1.ScopeDeploymentFull)
			tt.mutate(&claims)
			if _, err := verifier.Verify(t.Context(), issuer.sign(t, claims)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyRefusesTokens(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	now := issuer.clock.Now()
	key := issuer.currentKey()
	stranger := newSigningKey(t, key.kid)
	es384Key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatalf("generating P-384 key: %v", err)
	}
	withClaims := func(mutate func(*principal.Claims)) string {
		claims := issuer.claims(iamv1alpha1.ScopeDeploymentFull)
		mutate(&claims)
		return issuer.sign(t, claims)
	}
	valid := issuer.sign(t, issuer.claims(iamv1alpha1.ScopeDeploymentFull))
	validParts := strings.Split(valid, ".")
	header := map[string]any{"alg": "ES256", "kid": key.kid, "typ": "JWT"}
	hmacHeader := map[string]any{"alg": "HS256", "kid": key.kid, "typ": "JWT"}
	secrets := publicKeySecrets(t, key)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMissingToken},
		{"not a JWS", "not-a-token", ErrMalformedToken},
		{"two parts", "abc.def", ErrMalformedToken},
		{"four parts", valid + ".x", ErrMalformedToken},
		{"header not base64", "!!!." + validParts[1] + "." + validParts[2], ErrMalformedToken},
		{"header not JSON", "bm90anNvbg." + validParts[1] + "." + validParts[2], ErrMalformedToken},
		{"oversized", strings.Repeat("a", maxTokenBytes+1), ErrMalformedToken},
		{"payload not JSON", signES(t, jose.ES256, key.private, key.kid, []byte("not json")), ErrMalformedToken},
		{"alg none", handCrafted(t, map[string]any{"alg": "none", "kid": key.kid}, issuer.claims(), nil), ErrUnsupportedAlgorithm},
		{"alg None", handCrafted(t, map[string]any{"alg": "None", "kid": key.kid}, issuer.claims(), nil), ErrUnsupportedAlgorithm},
		{"alg missing", handCrafted(t, map[string]any{"kid": key.kid}, issuer.claims(), nil), ErrUnsupportedAlgorithm},
		{"HS256 with public key PEM as secret", handCrafted(t, hmacHeader, issuer.claims(), hmacWith(secrets["pem"])), ErrUnsupportedAlgorithm},
		{"HS256 with public key DER as secret", handCrafted(t, hmacHeader, issuer.claims(), hmacWith(secrets["der"])), ErrUnsupportedAlgorithm},
		{"HS256 with public JWK as secret", handCrafted(t, hmacHeader, issuer.claims(), hmacWith(secrets["jwk"])), ErrUnsupportedAlgorithm},
		{"ES384 not on allow-list", signES(t, jose.ES384, es384Key, key.kid, issuer.claims()), ErrUnsupportedAlgorithm},
		{"signed by another key with the issuer's kid", signES(t, jose.ES256, stranger.private, key.kid, issuer.claims()), ErrInvalidSignature},
		{"payload tampered", validParts[0] + "." + strings.Split(withClaims(func(c *principal.Claims) { c.Principal.Organization = "evil" }), ".")[1] + "." + validParts[2], ErrInvalidSignature},
		{"signature stripped", validParts[0] + "." + validParts[1] + ".", ErrInvalidSignature},
		{"garbage signature", handCrafted(t, header, issuer.claims(), func([]byte) []byte { return make([]byte, 64) }), ErrInvalidSignature},
		{"no kid", signES(t, jose.ES256, key.private, "", issuer.claims()), ErrUnknownKey},
		{"unknown kid", signES(t, jose.ES256, key.private, randomKID(t), issuer.claims()), ErrUnknownKey},
		{"wrong issuer", withClaims(func(c *principal.Claims) { c.Issuer = "https://evil.example" }), ErrInvalidIssuer},
		{"issuer with trailing slash", withClaims(func(c *principal.Claims) { c.Issuer = issuer.URL() + "/" }), ErrInvalidIssuer},
		{"no audience", withClaims(func(c *principal.Claims) { c.Audience = nil }), ErrInvalidAudience},
		{"wrong audience", withClaims(func(c *principal.Claims) { c.Audience = jwt.Audience{"aurora-console"} }), ErrInvalidAudience},
		{"expired beyond leeway", withClaims(func(c *principal.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-DefaultLeeway - time.Second)) }), ErrExpired},
		{"no expiry", withClaims(func(c *principal.Claims) { c.Expiry = nil }), ErrMissingExpiry},
		{"not yet valid", withClaims(func(c *principal.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), ErrNotYetValid},
		{"issued in the future", withClaims(func(c *principal.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }), ErrNotYetValid},
		{"principal without type", withClaims(func(c *principal.Claims) { c.Principal.Type = "" }), ErrInvalidPrincipal},
		{"principal of unknown type", withClaims(func(c *principal.Claims) { c.Principal.Type = "robot" }), ErrInvalidPrincipal},
		{"principal without organization", withClaims(func(c *principal.Claims) { c.Principal.Organization = "" }), ErrInvalidPrincipal},
		{"principal without environment", withClaims(func(c *principal.Claims) { c.Principal.Environment = "" }), ErrInvalidPrincipal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := verifier.Verify(t.Context(), tt.token)
			if claims != nil {
				t.Errorf("Verify returned claims %+v for a refused token", claims)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify error %v does not wrap ErrInvalidToken", err)
			}
			assertNoToken(t, err.Error(), tt.token)
		})
	}
}

func TestVerifyAlgorithmAllowList(t *testing.T) {
	issuer := newTestIssuer(t)
	es384Key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatalf("generating P-384 key: %v", err)
	}
	raw, err := (&jose.JSONWebKey{Key: &es384Key.PublicKey, KeyID: "p384", Algorithm: "ES384", Use: "sig"}).MarshalJSON()
	if err != nil {
		t.Fatalf("encoding JWK: %v", err)
	}
	issuer.addJWKSEntry(raw)
	opts := issuer.options()
	opts.Algorithms = []jose.SignatureAlgorithm{jose.ES384}
	verifier, err := NewVerifier(t.Context(), opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	if _, err := verifier.Verify(t.Context(), signES(t, jose.ES384, es384Key, "p384", issuer.claims())); err != nil {
		t.Errorf("ES384 token with ES384 allowed: %v", err)
	}
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, issuer.claims())); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("ES256 token with only ES384 allowed: error %v, want ErrUnsupportedAlgorithm", err)
	}
}

func TestVerifyLeewayOption(t *testing.T) {
	issuer := newTestIssuer(t)
	opts := issuer.options()
	opts.Leeway = time.Second
	verifier, err := NewVerifier(t.Context(), opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	claims := issuer.claims()
	claims.Expiry = jwt.NewNumericDate(issuer.clock.Now().Add(-5 * time.Second))
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, claims)); !errors.Is(err, ErrExpired) {
		t.Errorf("token expired 5s ago with 1s leeway: error %v, want ErrExpired", err)
	}
}

func TestNewVerifierRefusesOptions(t *testing.T) {
	issuer := newTestIssuer(t)
	tests := []struct {
		name   string
		mutate func(*Options)
	}{
		{"no issuer", func(o *Options) { o.IssuerURL = "" }},
		{"http issuer", func(o *Options) { o.IssuerURL = strings.Replace(o.IssuerURL, "https:", "http:", 1) }},
		{"relative issuer", func(o *Options) { o.IssuerURL = "/issuer" }},
		{"issuer with query", func(o *Options) { o.IssuerURL += "?tenant=acme" }},
		{"no audience", func(o *Options) { o.Audience = "" }},
		{"negative leeway", func(o *Options) { o.Leeway = -time.Second }},
		{"leeway too large", func(o *Options) { o.Leeway = time.Hour }},
		{"alg none", func(o *Options) { o.Algorithms = []jose.SignatureAlgorithm{"none"} }},
		{"HS256", func(o *Options) { o.Algorithms = []jose.SignatureAlgorithm{jose.HS256} }},
		{"HS384 among ES256", func(o *Options) { o.Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.HS384} }},
		{"HS512", func(o *Options) { o.Algorithms = []jose.SignatureAlgorithm{jose.HS512} }},
		{"unknown algorithm", func(o *Options) { o.Algorithms = []jose.SignatureAlgorithm{"XS999"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := issuer.options()
			tt.mutate(&opts)
			verifier, err := NewVerifier(t.Context(), opts)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("NewVerifier = %v, %v; want ErrInvalidOptions", verifier, err)
			}
		})
	}
}

func TestNewVerifierDiscoveryFailures(t *testing.T) {
	issuer := newTestIssuer(t)
	wrongIssuer := newTestIssuer(t)
	wrongIssuer.setDiscoveryIssuer("https://accounts.evil.example")
	brokenJWKS := newTestIssuer(t)
	brokenJWKS.setJWKSStatus(http.StatusInternalServerError)
	emptyJWKS := newTestIssuer(t)
	emptyJWKS.retire("key-1")
	notJSON := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>login</html>"))
	}))
	t.Cleanup(notJSON.Close)
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closedURL, closedClient := closed.URL, closed.Client()
	closed.Close()

	tests := []struct {
		name string
		opts func() Options
		want error
	}{
		{"no discovery document", func() Options {
			o := issuer.options()
			o.IssuerURL += "/tenants/acme"
			return o
		}, ErrDiscovery},
		{"document names another issuer", wrongIssuer.options, ErrDiscovery},
		{"document is not JSON", func() Options {
			return Options{IssuerURL: notJSON.URL, Audience: testAudience, HTTPClient: notJSON.Client()}
		}, ErrDiscovery},
		{"untrusted TLS certificate", func() Options {
			o := issuer.options()
			o.HTTPClient = nil
			return o
		}, ErrDiscovery},
		{"issuer unreachable", func() Options {
			return Options{IssuerURL: closedURL, Audience: testAudience, HTTPClient: closedClient}
		}, ErrDiscovery},
		{"JWKS answers 500", brokenJWKS.options, ErrKeySetUnavailable},
		{"JWKS holds no key", emptyJWKS.options, ErrKeySetUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			verifier, err := NewVerifier(ctx, tt.opts())
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewVerifier = %v, %v; want %v", verifier, err, tt.want)
			}
			if errors.Is(err, ErrInvalidToken) {
				t.Errorf("a construction error %v wraps ErrInvalidToken", err)
			}
		})
	}
}

func TestKeySetSkipsUnusableKeys(t *testing.T) {
	issuer := newTestIssuer(t)
	encKey := newSigningKey(t, "enc-key")
	encJWK, err := (&jose.JSONWebKey{Key: &encKey.private.PublicKey, KeyID: "enc-key", Use: "enc"}).MarshalJSON()
	if err != nil {
		t.Fatalf("encoding JWK: %v", err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	issuer.addJWKSEntry([]byte(`{"kty":"oct","kid":"hmac-key","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}`))
	issuer.addJWKSEntry([]byte(`{"kty":"XYZ","kid":"future-key","x":"abc"}`))
	issuer.addJWKSEntry(encJWK)
	verifier := issuer.newVerifier(t)
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, issuer.claims())); err != nil {
		t.Fatalf("a set with unparseable entries must still serve its good keys: %v", err)
	}
	for kid, want := range map[string]error{"hmac-key": ErrUnknownKey, "future-key": ErrUnknownKey, "enc-key": ErrUnknownKey} {
		if keys, _ := verifier.keys.cached(kid); len(keys) != 0 {
			t.Errorf("key %q was cached: %+v", kid, keys)
		}
		token := signES(t, jose.ES256, encKey.private, kid, issuer.claims())
		if _, err := verifier.Verify(t.Context(), token); !errors.Is(err, want) {
			t.Errorf("token naming %q: error %v, want %v", kid, err, want)
		}
	}
	hmacToken := handCrafted(t, map[string]any{"alg": "HS256", "kid": "hmac-key"}, issuer.claims(), hmacWith(secret))
	if _, err := verifier.Verify(t.Context(), hmacToken); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("HS256 token naming a published oct key: error %v, want ErrUnsupportedAlgorithm", err)
	}
}

// assertNoToken fails the test if text contains the token or its signature.
func assertNoToken(t *testing.T, text, token string) {
	t.Helper()
	if token == "" {
		return
	}
	if strings.Contains(text, token) {
		t.Errorf("%q contains the token", text)
	}
	if parts := strings.Split(token, "."); len(parts) == 3 && len(parts[2]) > 8 && strings.Contains(text, parts[2]) {
		t.Errorf("%q contains the token's signature", text)
	}
}
