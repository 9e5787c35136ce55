package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/aurora-cd/aurora/auth/users"
)

// authorizeRequest is an authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3).
type authorizeRequest struct {
	ClientID, RedirectURI, ResponseType, State, Scope, Nonce string
	CodeChallenge, CodeChallengeMethod                       string
	// Tenant asks for the token of one of the person's environments; Audience for another audience.
	Tenant, Audience string
	// Organization, when its upstream identity provider is configured, offers that provider.
	Organization string
}

// authorizeParams are the parameters an authorization request carries through the login page.
var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "state", "scope", "nonce",
	"code_challenge", "code_challenge_method", "tenant", "audience", "organization"}

func parseAuthorizeRequest(v url.Values) authorizeRequest {
	return authorizeRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), ResponseType: v.Get("response_type"),
		State: v.Get("state"), Scope: v.Get("scope"), Nonce: v.Get("nonce"), CodeChallenge: v.Get("code_challenge"),
		CodeChallengeMethod: v.Get("code_challenge_method"), Tenant: v.Get("tenant"), Audience: v.Get("audience"),
		Organization: v.Get("organization")}
}

func (a authorizeRequest) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"client_id": a.ClientID, "redirect_uri": a.RedirectURI, "response_type": a.ResponseType,
		"state": a.State, "scope": a.Scope, "nonce": a.Nonce, "code_challenge": a.CodeChallenge,
		"code_challenge_method": a.CodeChallengeMethod, "tenant": a.Tenant, "audience": a.Audience, "organization": a.Organization} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// authorizeError is a refused authorization request: redirect tells whether it may go back to the
// client's redirect URI (RFC 6749 §4.1.2.1: not when the client or the redirect URI is wrong).
type authorizeError struct {
	redirect    bool
	code, about string
}

func (e *authorizeError) Error() string { return e.code + ": " + e.about }

// checkAuthorizeRequest validates a request against the client registry and the audiences.
func checkAuthorizeRequest(a authorizeRequest, clients map[string]*oauthClient, audiences []string) (*oauthClient, *authorizeError) {
	c := clients[a.ClientID]
	switch {
	case a.ClientID == "":
		return nil, &authorizeError{code: errInvalidRequest, about: "client_id is required"}
	case c == nil || c.device && len(c.redirectURIs) == 0:
		return nil, &authorizeError{code: errInvalidClient, about: fmt.Sprintf("client_id %q is not a client of the authorization endpoint", a.ClientID)}
	case a.RedirectURI == "" || !c.allowsRedirect(a.RedirectURI):
		return nil, &authorizeError{code: errInvalidRequest, about: "redirect_uri is not registered for this client"}
	case a.ResponseType != "code":
		return c, &authorizeError{redirect: true, code: "unsupported_response_type", about: "response_type must be code"}
	}
	if err := checkChallenge(a.CodeChallenge, a.CodeChallengeMethod); err != nil {
		return c, &authorizeError{redirect: true, code: errInvalidRequest, about: err.Error() + " (PKCE is required)"}
	}
	if a.Audience != "" && !slices.Contains(audiences, a.Audience) {
		return c, &authorizeError{redirect: true, code: errInvalidTarget, about: "audience " + a.Audience + " is not served by this issuer"}
	}
	if len(a.State) > 1024 || len(a.Nonce) > 1024 || len(a.Scope) > 1024 {
		return c, &authorizeError{redirect: true, code: errInvalidRequest, about: "state, nonce and scope are limited to 1024 characters"}
	}
	return c, nil
}

// refuseAuthorize answers a refused authorization request: back to the client when allowed, else a
// page.
func (s *Service) refuseAuthorize(w http.ResponseWriter, r *http.Request, a authorizeRequest, e *authorizeError) {
	if !e.redirect {
		renderPage(w, http.StatusBadRequest, page{Title: "Login refused", Error: "The application's login request is not valid: " + e.about + "."})
		return
	}
	s.redirectToClient(w, r, a, url.Values{"error": {e.code}, "error_description": {e.about}})
}

// redirectToClient sends the browser back to the client's redirect URI with params, the state and
// the issuer (RFC 9207).
func (s *Service) redirectToClient(w http.ResponseWriter, r *http.Request, a authorizeRequest, params url.Values) {
	u, _ := url.Parse(a.RedirectURI) // validated against the registry
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if a.State != "" {
		q.Set("state", a.State)
	}
	q.Set("iss", s.opts.Issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// authorizePage is the login page of an authorization request.
func (s *Service) authorizePage(w http.ResponseWriter, r *http.Request, a authorizeRequest) page {
	p := page{Title: "Log in to Aurora", Action: s.opts.Issuer + AuthorizePath, CSRF: csrfToken(w, r), PasswordFields: true,
		UpstreamURL: s.opts.Issuer + UpstreamStartPath}
	for k, v := range a.values() {
		p.Hidden = append(p.Hidden, hiddenField{Name: k, Value: v[0]})
	}
	sortHidden(p.Hidden)
	cont := a.values().Encode()
	if up := s.upstreams[a.Organization]; up != nil {
		p.Upstream = &upstreamButton{Organization: a.Organization, DisplayName: up.cfg.DisplayName, Flow: flowAuthorize, Continue: cont}
		p.Action = s.opts.Issuer + UpstreamStartPath
		p.Hidden = nil
		return p
	}
	for _, org := range sortedKeys(s.upstreams) {
		p.Upstreams = append(p.Upstreams, upstreamButton{Organization: org, DisplayName: s.upstreams[org].cfg.DisplayName,
			Flow: flowAuthorize, Continue: cont})
	}
	return p
}

// serveAuthorize validates an authorization request and shows the login page.
func (s *Service) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	a := parseAuthorizeRequest(r.URL.Query())
	if _, e := checkAuthorizeRequest(a, s.clients, s.opts.Audiences); e != nil {
		s.refuseAuthorize(w, r, a, e)
		return
	}
	renderPage(w, http.StatusOK, s.authorizePage(w, r, a))
}

// serveAuthorizeLogin checks the login posted on the authorization page, then redirects to the
// client with an authorization code.
func (s *Service) serveAuthorizeLogin(w http.ResponseWriter, r *http.Request) {
	if !readLoginForm(w, r, "Log in to Aurora") {
		return
	}
	a := parseAuthorizeRequest(r.PostForm)
	if _, e := checkAuthorizeRequest(a, s.clients, s.opts.Audiences); e != nil {
		s.refuseAuthorize(w, r, a, e)
		return
	}
	id, ok := s.passwordLogin(w, r, s.authorizePage(w, r, a))
	if !ok {
		return
	}
	s.completeAuthorize(w, r, a, *id)
}

// completeAuthorize issues an authorization code for the person and sends them back to the client.
func (s *Service) completeAuthorize(w http.ResponseWriter, r *http.Request, a authorizeRequest, id users.Identity) {
	if _, err := id.Principal(a.Tenant); err != nil {
		s.redirectToClient(w, r, a, url.Values{"error": {errAccessDenied}, "error_description": {err.Error()}})
		return
	}
	code, err := randomToken("aur_ac_")
	if err != nil {
		s.redirectToClient(w, r, a, url.Values{"error": {"server_error"}})
		return
	}
	audience := a.Audience
	if audience == "" {
		audience = s.opts.Audiences[0]
	}
	rec := codeGrant{RedirectURI: a.RedirectURI, CodeChallenge: a.CodeChallenge, Session: userSession{
		ClientID: a.ClientID, Identity: id, Environment: a.Tenant, Scope: a.Scope, Audience: audience, Nonce: a.Nonce, AuthTime: s.opts.Now()}}
	if err := s.opts.Grants.put(r.Context(), grantCode, code, nil, rec, s.opts.Now().Add(authorizationCodeLifetime)); err != nil {
		ctrl.Log.WithName("auth").Error(err, "Storing an authorization code failed")
		s.redirectToClient(w, r, a, url.Values{"error": {"server_error"}})
		return
	}
	ctrl.Log.WithName("auth").Info("A person logged in", "user", id.Name, "organization", id.Organization, "client", a.ClientID)
	s.redirectToClient(w, r, a, url.Values{"code": {code}})
}

// codeGrant is a stored authorization code, bound to its client, redirect URI and PKCE challenge.
type codeGrant struct {
	RedirectURI   string      `json:"redirectURI"`
	CodeChallenge string      `json:"codeChallenge"`
	Session       userSession `json:"session"`
}

// authorizationCodeGrant exchanges an authorization code: once, by its client, with its redirect URI
// and the PKCE verifier of its challenge. A code is spent by the first attempt, right or wrong.
func (s *Service) authorizationCodeGrant(w http.ResponseWriter, r *http.Request, form url.Values, c *oauthClient) {
	var rec codeGrant
	err := s.opts.Grants.consume(r.Context(), grantCode, form.Get("code"), &rec)
	switch {
	case errors.Is(err, ErrGrantNotFound):
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the authorization code is unknown, used or expired", false)
		return
	case err != nil:
		ctrl.Log.WithName("auth").Error(err, "Reading an authorization code failed")
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "reading the authorization code failed", false)
		return
	}
	switch {
	case rec.Session.ClientID != c.id:
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the authorization code was issued to another client", false)
	case form.Get("redirect_uri") != rec.RedirectURI:
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "redirect_uri differs from the authorization request's", false)
	case !verifierMatches(form.Get("code_verifier"), rec.CodeChallenge):
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "code_verifier does not match the code_challenge", false)
	default:
		s.writeUserTokens(w, r, rec.Session)
	}
}
