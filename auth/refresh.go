package auth

import (
	"errors"
	"net/http"
	"net/url"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/aurora-cd/aurora/auth/users"
)

// refreshTokenGrant exchanges a refresh token for new tokens and a new refresh token (the old one
// is spent). The person is read again: a deleted or disabled user gets nothing, changed roles count
// at once. tenant=<environment> switches to another tenant of the person.
func (s *Service) refreshTokenGrant(w http.ResponseWriter, r *http.Request, form url.Values, c *oauthClient) {
	ctx := r.Context()
	var rec refreshGrant
	sec, err := s.opts.Grants.get(ctx, grantRefresh, form.Get("refresh_token"), &rec)
	switch {
	case errors.Is(err, ErrGrantNotFound):
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the refresh token is unknown, used, revoked or expired", false)
		return
	case err != nil:
		ctrl.Log.WithName("auth").Error(err, "Reading a refresh token failed")
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "reading the refresh token failed", false)
		return
	}
	if rec.ClientID != c.id {
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the refresh token was issued to another client", false)
		return
	}
	sess := rec.userSession
	if !s.opts.Now().Before(refreshExpiry(sess, s.opts.Now(), s.opts.RefreshTokenLifetime, s.opts.UpstreamSessionLifetime)) {
		_ = s.opts.Grants.remove(ctx, sec)
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the login through the organization's identity provider has ended; log in again", false)
		return
	}
	var id *users.Identity
	if sess.Identity.Upstream == "" {
		id, err = s.opts.Users.Lookup(ctx, sess.Identity.Name)
	} else {
		var fresh users.Identity
		fresh, err = s.opts.Users.WithOrganizationTenants(ctx, sess.Identity)
		id = &fresh
	}
	switch {
	case errors.Is(err, users.ErrInvalidLogin):
		_ = s.opts.Grants.remove(ctx, sec)
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the user no longer exists or is disabled", false)
		return
	case err != nil:
		ctrl.Log.WithName("auth").Error(err, "Reading a user failed", "user", sess.Identity.Name)
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "reading the user failed", false)
		return
	}
	if sess.Identity.Upstream == "" {
		sess.Identity = *id
	} else {
		sess.Identity.Tenants = id.Tenants
	}
	if t := form.Get("tenant"); t != "" {
		sess.Environment = t
	}
	if scope := form.Get("scope"); scope != "" {
		sess.Scope = scope
	}
	if _, err := userPrincipal(sess); err != nil {
		// Refused before the old token is spent: a wrong tenant does not end the login.
		code := errInvalidGrant
		if errors.Is(err, errInvalidScopeRequest) {
			code = errInvalidScope
		}
		writeOAuthError(w, http.StatusBadRequest, code, err.Error(), false)
		return
	}
	if err := s.opts.Grants.remove(ctx, sec); err != nil {
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the refresh token was used at the same moment", false)
		return
	}
	s.writeUserTokens(w, r, sess)
}

// serveRevocation revokes a refresh token (RFC 7009). It answers 200 whether or not the token
// existed; access tokens are short-lived JWTs and expire by themselves.
func (s *Service) serveRevocation(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
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
	c, ok := s.authenticatePeopleClient(w, addr, clientID, secret, basic)
	if !ok {
		return
	}
	var rec refreshGrant
	sec, err := s.opts.Grants.get(r.Context(), grantRefresh, form.Get("token"), &rec)
	if err == nil && rec.ClientID == c.id {
		_ = s.opts.Grants.remove(r.Context(), sec)
	} else if err != nil && !errors.Is(err, ErrGrantNotFound) {
		ctrl.Log.WithName("auth").Error(err, "Revoking a refresh token failed")
		writeOAuthError(w, http.StatusServiceUnavailable, errServerError, "revoking the token failed; retry", basic)
		return
	}
	w.WriteHeader(http.StatusOK)
}
