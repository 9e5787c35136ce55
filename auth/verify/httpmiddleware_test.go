package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// newProtectedAPI serves, over TLS, /deployments requiring api:deployment:full, /organization
// requiring api:organization:full and /any requiring just a valid token; each answers with the
// subject and organization of the claims it finds in its context.
func newProtectedAPI(t *testing.T, verifier *Verifier) *httptest.Server {
	t.Helper()
	echoClaims := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims in context", http.StatusInternalServerError)
			return
		}
		_, _ = fmt.Fprintf(w, "%s@%s", claims.Subject, claims.Principal.Organization)
	})
	mux := http.NewServeMux()
	mux.Handle("/deployments", verifier.Middleware(iamv1alpha1.ScopeDeploymentFull)(echoClaims))
	mux.Handle("/organization", verifier.Middleware(iamv1alpha1.ScopeOrganizationFull)(echoClaims))
	mux.Handle("/any", verifier.Middleware("")(echoClaims))
	server := httptest.NewTLSServer(mux)
	t.Cleanup(server.Close)
	return server
}

func TestMiddleware(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	api := newProtectedAPI(t, verifier)
	key := issuer.currentKey()
	signed := func(scopes ...iamv1alpha1.Scope) string { return issuer.sign(t, issuer.claims(scopes...)) }
	expired := issuer.claims(iamv1alpha1.ScopeDeploymentFull)
	expired.Expiry = jwt.NewNumericDate(issuer.clock.Now().Add(-time.Hour))
	wrongAudience := issuer.claims(iamv1alpha1.ScopeDeploymentFull)
	wrongAudience.Audience = jwt.Audience{"someone-else"}
	hs256 := handCrafted(t, map[string]any{"alg": "HS256", "kid": key.kid}, issuer.claims(iamv1alpha1.ScopeOrganizationFull),
		hmacWith(publicKeySecrets(t, key)["pem"]))
	none := handCrafted(t, map[string]any{"alg": "none", "kid": key.kid}, issuer.claims(iamv1alpha1.ScopeOrganizationFull), nil)
	const okBody = "machine:acme:prod:deployer@acme"

	tests := []struct {
		name          string
		path          string
		authorization string
		wantStatus    int
		wantCode      string
		wantChallenge string
		wantBody      string
	}{
		{"valid token with the scope", "/deployments", "Bearer " + signed(iamv1alpha1.ScopeDeploymentFull), http.StatusOK, "", "", okBody},
		{"lower-case scheme", "/deployments", "bearer " + signed(iamv1alpha1.ScopeDeploymentFull), http.StatusOK, "", "", okBody},
		{"tenant:full implies deployment:full", "/deployments", "Bearer " + signed(iamv1alpha1.ScopeTenantFull), http.StatusOK, "", "", okBody},
		{"organization:full implies deployment:full", "/deployments", "Bearer " + signed(iamv1alpha1.ScopeOrganizationFull), http.StatusOK, "", "", okBody},
		{"no scope required", "/any", "Bearer " + signed(), http.StatusOK, "", "", okBody},
		{"no authorization header", "/deployments", "", http.StatusUnauthorized, "unauthenticated", "Bearer", ""},
		{"basic authentication", "/deployments", "Basic dXNlcjpwYXNz", http.StatusUnauthorized, "unauthenticated", "Bearer", ""},
		{"bearer without token", "/deployments", "Bearer ", http.StatusUnauthorized, "unauthenticated", "Bearer", ""},
		{"garbage token", "/deployments", "Bearer abc.def.ghi", http.StatusUnauthorized, "unauthenticated", `Bearer error="invalid_token"`, ""},
		{"expired token", "/deployments", "Bearer " + issuer.sign(t, expired), http.StatusUnauthorized, "unauthenticated", `Bearer error="invalid_token"`, ""},
		{"wrong audience", "/deployments", "Bearer " + issuer.sign(t, wrongAudience), http.StatusUnauthorized, "unauthenticated", `Bearer error="invalid_token"`, ""},
		{"alg none", "/deployments", "Bearer " + none, http.StatusUnauthorized, "unauthenticated", `Bearer error="invalid_token"`, ""},
		{"HS256 signed with the public key", "/deployments", "Bearer " + hs256, http.StatusUnauthorized, "unauthenticated", `Bearer error="invalid_token"`, ""},
		{"invalid token on an open route", "/any", "Bearer " + none, http.StatusUnauthorized, "unauthenticated", `Bearer error="invalid_token"`, ""},
		{"lacks the scope", "/deployments", "Bearer " + signed(iamv1alpha1.ScopeAgentHubFull), http.StatusForbidden, "forbidden",
			`Bearer error="insufficient_scope", scope="api:deployment:full"`, ""},
		{"tenant:full does not imply organization:full", "/organization", "Bearer " + signed(iamv1alpha1.ScopeTenantFull), http.StatusForbidden, "forbidden",
			`Bearer error="insufficient_scope", scope="api:organization:full"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+tt.path, nil)
			if err != nil {
				t.Fatalf("building request: %v", err)
			}
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := api.Client().Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				if string(body) != tt.wantBody {
					t.Errorf("body = %q, want %q", body, tt.wantBody)
				}
				return
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, tt.wantChallenge) || (tt.wantChallenge == "Bearer" && challenge != "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want %q…", challenge, tt.wantChallenge)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			var errBody HTTPErrorBody
			if err := json.Unmarshal(body, &errBody); err != nil {
				t.Fatalf("body %q is not the JSON error: %v", body, err)
			}
			if errBody.Code != tt.wantCode || errBody.Message == "" {
				t.Errorf("body = %+v, want code %q and a message", errBody, tt.wantCode)
			}
			token := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(tt.authorization, "Bearer"), "bearer"))
			assertNoToken(t, string(body), token)
			assertNoToken(t, challenge, token)
		})
	}
}

func TestMiddlewareIssuerOutageIs503(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	api := newProtectedAPI(t, verifier)
	issuer.setJWKSStatus(http.StatusBadGateway)
	token := signES(t, "ES256", issuer.currentKey().private, randomKID(t), issuer.claims(iamv1alpha1.ScopeDeploymentFull))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+"/deployments", nil)
	if err != nil {
		t.Fatalf("building request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := api.Client().Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var errBody HTTPErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&errBody); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || errBody.Code != "unavailable" {
		t.Errorf("status %d body %+v, want 503 unavailable", resp.StatusCode, errBody)
	}
}

func TestWriteHTTPError(t *testing.T) {
	claims := &principal.Claims{Principal: principal.Principal{Organization: "acme", Environment: "prod"}}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantHeader string
	}{
		{"wrong tenant", RequireTenant(claims, "acme", "staging"), http.StatusForbidden, "forbidden", ""},
		{"insufficient scope", RequireScope(claims, iamv1alpha1.ScopeDeploymentFull), http.StatusForbidden, "forbidden",
			`Bearer error="insufficient_scope", scope="api:deployment:full"`},
		{"expired", fmt.Errorf("checking: %w", ErrExpired), http.StatusUnauthorized, "unauthenticated",
			`Bearer error="invalid_token", error_description="invalid token: token expired"`},
		{"unknown error", io.ErrUnexpectedEOF, http.StatusInternalServerError, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recorder := httptest.NewRecorder()
			WriteHTTPError(recorder, tt.err)
			var body HTTPErrorBody
			if err := json.Unmarshal(recorder.Body.Bytes(), &body); err != nil {
				t.Fatalf("decoding body %q: %v", recorder.Body, err)
			}
			if recorder.Code != tt.wantStatus || body.Code != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q", recorder.Code, body.Code, tt.wantStatus, tt.wantCode)
			}
			if got := recorder.Header().Get("WWW-Authenticate"); got != tt.wantHeader {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantHeader)
			}
			if strings.Contains(body.Message, io.ErrUnexpectedEOF.Error()) {
				t.Errorf("message %q leaks an internal error", body.Message)
			}
		})
	}
}
