package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	ctrl "sigs.k8s.io/controller-runtime"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	// RefreshToken and IDToken answer people's grants.
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// Grant types of the token endpoint.
const (
	grantClientCredentials = "client_credentials"
	grantAuthorizationCode = "authorization_code"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefreshToken      = "refresh_token"
)

// serveToken is the token endpoint: the client-credentials grant of machines (client_secret_basic
// or client_secret_post), and the grants of people: authorization code with PKCE, device code and
// refresh token.
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	addr := remoteHost(r)
	if !s.limiter.allowRequest(addr) {
		writeOAuthError(w, http.StatusTooManyRequests, errSlowDown, "too many requests from this address; retry later", false)
		return
	}

	form, err := readForm(w, r)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, errInvalidRequest, err.Error(), false)
		return
	}
	clientID, secret, basic, err := clientCredentials(r, form)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, errInvalidRequest, err.Error(), basic)
		return
	}
	switch grant := form.Get("grant_type"); grant {
	case grantClientCredentials:
		s.clientCredentialsGrant(w, r, form, clientID, secret, basic)
	case grantAuthorizationCode, grantDeviceCode, grantRefreshToken:
		if !s.peopleEnabled() {
			writeOAuthError(w, http.StatusBadRequest, errUnsupportedGrantType, "this service has no user directory; only client_credentials is supported", basic)
			return
		}
		c, ok := s.authenticatePeopleClient(w, addr, clientID, secret, basic)
		if !ok {
			return
		}
		switch grant {
		case grantAuthorizationCode:
			s.authorizationCodeGrant(w, r, form, c)
		case grantDeviceCode:
			s.deviceCodeGrant(w, r, form, c)
		default:
			s.refreshTokenGrant(w, r, form, c)
		}
	case "":
		writeOAuthError(w, http.StatusBadRequest, errInvalidRequest, "grant_type is required", basic)
	default:
		writeOAuthError(w, http.StatusBadRequest, errUnsupportedGrantType, fmt.Sprintf("grant_type %q is not supported", grant), basic)
	}
}

// authenticatePeopleClient checks the client of a person's grant: a public client sends its id and
// no secret, a confidential one its secret.
func (s *Service) authenticatePeopleClient(w http.ResponseWriter, addr, clientID, secret string, basic bool) (*oauthClient, bool) {
	if clientID == "" {
		writeOAuthError(w, http.StatusUnauthorized, errInvalidClient, "client_id is required", basic)
		return nil, false
	}
	c := s.clients[clientID]
	if c != nil && c.public() {
		// A public client has no secret to guess, so a refusal is not counted: otherwise anyone could
		// lock every person out of aurora-cli or aurora-console by sending wrong secrets.
		if secret != "" {
			writeOAuthError(w, http.StatusUnauthorized, errInvalidClient, "client authentication failed: a public client sends no secret", basic)
			return nil, false
		}
		return c, true
	}
	key := "client/" + clientID
	if !s.limiter.allowAttempt(key, addr) {
		writeOAuthError(w, http.StatusTooManyRequests, errSlowDown, "too many failed attempts; retry later", basic)
		return nil, false
	}
	if c == nil || !c.authenticate(secret) {
		s.limiter.recordFailure(key, addr)
		writeOAuthError(w, http.StatusUnauthorized, errInvalidClient, "client authentication failed", basic)
		return nil, false
	}
	return c, true
}

// machineAccount is the failure budget of a machine credential's logins from one address. A
// machine's client secret is random and long, so guessing it is hopeless and locking the credential
// as a whole would only let anyone who knows its client id lock out the CI job or agent using it;
// failures count per client id and address instead (and per address, in allowAttempt).
func machineAccount(clientID, addr string) string {
	return "client/" + clientID + "@" + addr
}

// clientCredentialsGrant issues a machine's token to a MachineCredential.
func (s *Service) clientCredentialsGrant(w http.ResponseWriter, r *http.Request, form url.Values, clientID, secret string, basic bool) {
	log := ctrl.Log.WithName("auth").WithName("token")
	addr := remoteHost(r)
	if clientID == "" {
		writeOAuthError(w, http.StatusUnauthorized, errInvalidClient, "client authentication is required (client_secret_basic or client_secret_post)", basic)
		return
	}
	account := machineAccount(clientID, addr)
	if !s.limiter.allowAttempt(account, addr) {
		writeOAuthError(w, http.StatusTooManyRequests, errSlowDown, "too many failed attempts; retry later", basic)
		return
	}

	client, err := s.opts.Credentials.Authenticate(r.Context(), clientID, secret)
	if err != nil {
		s.limiter.recordFailure(account, addr)
		if errors.Is(err, ErrInvalidClient) {
			log.Info("Refused a client", "clientID", clientID, "address", addr)
			writeOAuthError(w, http.StatusUnauthorized, errInvalidClient, "client authentication failed", basic)
			return
		}
		log.Error(err, "Authenticating a client failed", "clientID", clientID)
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "authenticating the client failed", basic)
		return
	}

	scopes, err := grantedScopes(principal.ParseScope(form.Get("scope")), client.Scopes)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, errInvalidScope, err.Error(), basic)
		return
	}
	audience := form.Get("audience")
	if audience == "" {
		audience = s.opts.Audiences[0]
	}
	if !slices.Contains(s.opts.Audiences, audience) {
		writeOAuthError(w, http.StatusBadRequest, errInvalidTarget, fmt.Sprintf("audience %q is not served by this issuer", audience), basic)
		return
	}

	claims, err := s.machineClaims(client, scopes, audience)
	if err != nil {
		log.Error(err, "Minting a token failed", "clientID", clientID)
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "issuing the token failed", basic)
		return
	}
	token, err := s.opts.Signer.Sign(claims)
	if err != nil {
		log.Error(err, "Signing a token failed", "clientID", clientID)
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "issuing the token failed", basic)
		return
	}
	log.V(1).Info("Issued a token", "clientID", clientID, "tenant", client.Namespace, "scope", claims.Scope, "jti", claims.ID)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: token, TokenType: "Bearer", Scope: claims.Scope,
		ExpiresIn: int64(claims.Expiry.Time().Sub(claims.IssuedAt.Time()) / time.Second),
	})
}

// machineClaims mints the claims of a machine's access token. A token never outlives its credential.
func (s *Service) machineClaims(c *Client, scopes []string, audience string) (*principal.Claims, error) {
	now := s.opts.Now().Truncate(time.Second)
	exp := now.Add(s.opts.TokenLifetime)
	if c.ExpiresAt != nil && c.ExpiresAt.Before(exp) {
		exp = *c.ExpiresAt
	}
	jti, err := randomID()
	if err != nil {
		return nil, err
	}
	return &principal.Claims{
		Claims: jwt.Claims{
			Issuer: s.opts.Issuer, Subject: c.ClientID, Audience: jwt.Audience{audience},
			Expiry: jwt.NewNumericDate(exp), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now), ID: jti,
		},
		Scope: principal.ScopeString(scopes),
		Principal: principal.Principal{
			Type: principal.Machine, Name: c.Name, Organization: c.Organization, Environment: c.Environment,
			Scopes: scopes, Roles: c.Roles, ClientID: c.ClientID, Agents: c.Agents,
		},
	}, nil
}

// grantedScopes returns the scopes a token gets: every requested one, each of which the client
// must hold; all of the client's when none is requested.
func grantedScopes(requested, held []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(held), nil
	}
	var granted []string
	for _, s := range requested {
		if !slices.Contains(held, s) {
			return nil, fmt.Errorf("scope %q is not granted to this client", s)
		}
		if !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	return granted, nil
}

// readForm reads a form-encoded token request, refusing repeated parameters (RFC 6749 §3.2).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errors.New("the request body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, errors.New("the request body is not a valid form or is too large")
	}
	if len(r.URL.RawQuery) > 0 {
		return nil, errors.New("parameters belong in the request body, not the URL")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, fmt.Errorf("parameter %s is repeated", k)
		}
	}
	return r.PostForm, nil
}

// clientCredentials reads the client id and secret from HTTP Basic authentication (with the
// form-urlencoding of RFC 6749 §2.3.1) or from the body; basic tells which.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, basic bool, err error) {
	user, pass, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return "", "", true, errors.New("use one client authentication method, not both")
		}
		if id, err = url.QueryUnescape(user); err != nil {
			return "", "", true, errors.New("malformed client id in the Authorization header")
		}
		if secret, err = url.QueryUnescape(pass); err != nil {
			return "", "", true, errors.New("malformed client secret in the Authorization header")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return "", "", true, errors.New("client_id in the body differs from the Authorization header")
		}
		return id, secret, true, nil
	}
	return form.Get("client_id"), form.Get("client_secret"), false, nil
}

// remoteHost is the caller's IP address.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func knownScopeStrings() []string {
	out := make([]string, 0, len(iamv1alpha1.KnownScopes))
	for _, s := range iamv1alpha1.KnownScopes {
		out = append(out, string(s))
	}
	return out
}
