package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"

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
	if rec.SpentAt != nil {
		if s.opts.Now().Sub(*rec.SpentAt) < refreshReuseLeeway {
			writeOAuthError(w, http.StatusBadRequest, errInvalidGrant,
				"the refresh token was used a moment ago; use the refresh token that use returned", false)
			return
		}
		s.revokeReusedLogin(r, rec)
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant,
			"the refresh token was already used: every token of this login is revoked; log in again", false)
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
	if err := s.spendRefreshToken(ctx, sec, rec); err != nil {
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the refresh token was used at the same moment", false)
		return
	}
	s.writeUserTokens(w, r, sess)
}

// refreshReuseLeeway is how long after its use a spent refresh token is refused without revoking
// its login: two commands sharing one cached login may both refresh it at nearly the same time,
// which is a race, not a theft.
const refreshReuseLeeway = 30 * time.Second

// spentRefreshRetention is how long a spent refresh token is kept to recognise its reuse.
const spentRefreshRetention = 24 * time.Hour

// spendRefreshToken marks the refresh token sec as spent, keeping it for spentRefreshRetention (at
// most its own expiry) so that a second use is recognised as theft; a token of a login that has
// no family (issued before families) is removed instead.
func (s *Service) spendRefreshToken(ctx context.Context, sec *corev1.Secret, rec refreshGrant) error {
	if rec.Family == "" {
		return s.opts.Grants.remove(ctx, sec)
	}
	now := s.opts.Now()
	keep := now.Add(spentRefreshRetention)
	if exp, err := time.Parse(time.RFC3339, string(sec.Data[expiresAtKey])); err == nil && exp.Before(keep) {
		keep = exp
	}
	rec.SpentAt = &now
	return s.opts.Grants.markSpent(ctx, sec, rec, keep)
}

// revokeReusedLogin revokes every refresh token of the login of a spent refresh token presented
// again: either the person or a thief holds a copy, and only a new login tells them apart (OAuth
// 2.0 Security BCP, refresh token rotation).
func (s *Service) revokeReusedLogin(r *http.Request, rec refreshGrant) {
	log := ctrl.Log.WithName("auth")
	n, err := s.opts.Grants.removeFamily(r.Context(), rec.Family)
	if err != nil {
		log.Error(err, "Revoking a login whose spent refresh token was used again failed", "user", rec.Identity.Name)
		return
	}
	log.Info("A spent refresh token was used again; revoked every token of its login", "user", rec.Identity.Name,
		"client", rec.ClientID, "address", remoteHost(r), "revoked", n)
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
		// Logging out ends the login: its spent tokens go too.
		if rec.Family != "" {
			_, err = s.opts.Grants.removeFamily(r.Context(), rec.Family)
		}
		_ = s.opts.Grants.remove(r.Context(), sec)
	}
	if err != nil && !errors.Is(err, ErrGrantNotFound) {
		ctrl.Log.WithName("auth").Error(err, "Revoking a refresh token failed")
		writeOAuthError(w, http.StatusServiceUnavailable, errServerError, "revoking the token failed; retry", basic)
		return
	}
	w.WriteHeader(http.StatusOK)
}
