package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// testAudience is the audience the test tokens carry and the Hub's verifier requires.
const testAudience = "aurora"

// testIssuer is a tiny OIDC issuer over TLS: a discovery document, a JWKS with one ES256 key, and
// a signer of principal claims. It stands in for the auth service in the Hub's tests.
type testIssuer struct {
	server *httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
}

// newTestIssuer starts an issuer; Close stops it.
func newTestIssuer() (*testIssuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the issuer key: %w", err)
	}
	issuer := &testIssuer{key: key, kid: "hub-test-key"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": issuer.URL(), "jwks_uri": issuer.URL() + "/jwks", "token_endpoint": issuer.URL() + "/token",
			"id_token_signing_alg_values_supported": []string{"ES256"}, "response_types_supported": []string{"token"},
			"subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"keys": []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: issuer.kid, Algorithm: string(jose.ES256), Use: "sig"}}})
	})
	issuer.server = httptest.NewTLSServer(mux)
	return issuer, nil
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// URL is the issuer URL.
func (i *testIssuer) URL() string { return i.server.URL }

// Close stops the issuer.
func (i *testIssuer) Close() { i.server.Close() }

// tokenRequest describes the token of a machine credential of one tenant.
type tokenRequest struct {
	organization, environment string
	scopes                    []iamv1alpha1.Scope
	agents                    []string
	lifetime                  time.Duration
}

// sign returns a signed access token for req (10 minutes unless said otherwise).
func (i *testIssuer) sign(req tokenRequest) (string, error) {
	now := time.Now()
	if req.lifetime == 0 {
		req.lifetime = 10 * time.Minute
	}
	scopes := make([]string, len(req.scopes))
	for n, s := range req.scopes {
		scopes[n] = string(s)
	}
	claims := principal.Claims{
		Claims: jwt.Claims{
			Issuer: i.URL(), Subject: "machine:" + req.organization + ":" + req.environment + ":agent",
			Audience: jwt.Audience{testAudience}, Expiry: jwt.NewNumericDate(now.Add(req.lifetime)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "jti-" + req.organization,
		},
		Scope: principal.ScopeString(scopes),
		Principal: principal.Principal{
			Type: principal.Machine, Name: "agent-credential", Organization: req.organization, Environment: req.environment,
			Scopes: scopes, ClientID: "client-" + req.organization + "-" + req.environment, Agents: req.agents,
		},
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: i.key, KeyID: i.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("creating the signer: %w", err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return token, nil
}
