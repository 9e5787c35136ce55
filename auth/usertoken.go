package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/auth/users"
)

// OpenID Connect scopes a person's client may ask for beside Aurora's scopes. They shape the ID
// token and never reach the access token.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// userSession is what a person's login grants a client: stored with authorization codes, approved
// device codes and refresh tokens.
type userSession struct {
	// ClientID is the client the grant belongs to.
	ClientID string `json:"clientId"`
	// Identity is the person as they logged in.
	Identity users.Identity `json:"identity"`
	// Environment is the tenant the tokens are for; empty means the person's first.
	Environment string `json:"environment,omitempty"`
	// Scope is the scope the client asked for (Aurora and OpenID scopes).
	Scope string `json:"scope,omitempty"`
	// Audience is the access token's audience.
	Audience string `json:"audience"`
	// Nonce is repeated in the ID token (authorization code grant).
	Nonce string `json:"nonce,omitempty"`
	// AuthTime is when the person logged in.
	AuthTime time.Time `json:"authTime"`
	// Family names the login: every refresh token rotated from its first one carries it, so that
	// the reuse of a spent one revokes them all.
	Family string `json:"family,omitempty"`
}

// refreshGrant is a stored refresh token.
type refreshGrant struct {
	userSession
	// SpentAt is when the token was exchanged for its successor. A spent token is kept (for
	// spentRefreshRetention) only to recognise its reuse.
	SpentAt *time.Time `json:"spentAt,omitempty"`
}

// idTokenClaims are the claims of an OpenID Connect ID token.
type idTokenClaims struct {
	jwt.Claims
	Nonce             string   `json:"nonce,omitempty"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	AuthorizedParty   string   `json:"azp,omitempty"`
	Name              string   `json:"name,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	Organization      string   `json:"organization,omitempty"`
	Groups            []string `json:"groups,omitempty"`
}

// errTenant is a tenant the person may not use, or none at all.
var errTenant = errors.New("tenant")

// splitScope separates the OpenID scopes of a request from Aurora's.
func splitScope(scope string) (aurora []string, openid []string) {
	for _, s := range principal.ParseScope(scope) {
		if slices.Contains(oidcScopes, s) {
			openid = append(openid, s)
		} else {
			aurora = append(aurora, s)
		}
	}
	return aurora, openid
}

// userPrincipal is the principal of the session's access token: the person in the chosen tenant,
// with the scopes of their roles there, narrowed to those asked for.
func userPrincipal(sess userSession) (principal.Principal, error) {
	p, err := sess.Identity.Principal(sess.Environment)
	if err != nil {
		return principal.Principal{}, errors.Join(errTenant, err)
	}
	asked, _ := splitScope(sess.Scope)
	scopes, err := grantedScopes(asked, p.Scopes)
	if err != nil {
		return principal.Principal{}, fmt.Errorf("%w: %s", errInvalidScopeRequest, err)
	}
	p.Scopes = scopes
	return p, nil
}

// errInvalidScopeRequest marks a scope the person's roles do not grant.
var errInvalidScopeRequest = errors.New("invalid scope")

// issueUserTokens mints the access token of the session, a new refresh token, and an ID token when
// the client asked for openid.
func (s *Service) issueUserTokens(ctx context.Context, sess userSession) (*tokenResponse, error) {
	p, err := userPrincipal(sess)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().Truncate(time.Second)
	jti, err := randomID()
	if err != nil {
		return nil, err
	}
	claims := &principal.Claims{
		Claims: jwt.Claims{Issuer: s.opts.Issuer, Subject: p.Name, Audience: jwt.Audience{sess.Audience},
			Expiry: jwt.NewNumericDate(now.Add(s.opts.TokenLifetime)), NotBefore: jwt.NewNumericDate(now),
			IssuedAt: jwt.NewNumericDate(now), ID: jti},
		Scope: principal.ScopeString(p.Scopes), Principal: p,
	}
	access, err := s.opts.Signer.Sign(claims)
	if err != nil {
		return nil, fmt.Errorf("signing an access token: %w", err)
	}
	resp := &tokenResponse{AccessToken: access, TokenType: "Bearer", Scope: claims.Scope, ExpiresIn: int64(s.opts.TokenLifetime / time.Second)}

	sess.Environment = p.Environment
	if sess.Family == "" {
		if sess.Family, err = newLoginFamily(); err != nil {
			return nil, err
		}
	}
	refresh, err := randomToken("aur_rt_")
	if err != nil {
		return nil, err
	}
	labels := map[string]string{grantUserLabel: userLabelValue(p.Name), grantFamilyLabel: sess.Family}
	if err := s.opts.Grants.put(ctx, grantRefresh, refresh, labels,
		refreshGrant{userSession: sess}, refreshExpiry(sess, now, s.opts.RefreshTokenLifetime, s.opts.UpstreamSessionLifetime)); err != nil {
		return nil, err
	}
	resp.RefreshToken = refresh

	if _, openid := splitScope(sess.Scope); slices.Contains(openid, "openid") {
		id := sess.Identity
		idc := idTokenClaims{
			Claims: jwt.Claims{Issuer: s.opts.Issuer, Subject: id.Name, Audience: jwt.Audience{sess.ClientID},
				Expiry: jwt.NewNumericDate(now.Add(s.opts.TokenLifetime)), IssuedAt: jwt.NewNumericDate(now), ID: jti + ".id"},
			Nonce: sess.Nonce, AuthTime: sess.AuthTime.Unix(), AuthorizedParty: sess.ClientID,
			Name: id.DisplayName, PreferredUsername: id.Name, Email: id.Email, Organization: id.Organization, Groups: id.Groups(),
		}
		if resp.IDToken, err = s.opts.Signer.Sign(idc); err != nil {
			return nil, fmt.Errorf("signing an ID token: %w", err)
		}
	}
	return resp, nil
}

// randomToken returns prefix and 256 random bits.
func randomToken(prefix string) (string, error) {
	a, err := randomID()
	if err != nil {
		return "", err
	}
	b, err := randomID()
	if err != nil {
		return "", err
	}
	return prefix + a + b, nil
}

// refreshExpiry is when a refresh token issued now for the session stops working: after the refresh
// token lifetime, and for a login through an upstream identity provider never after the login's
// upstream session lifetime (counted from when the person logged in there).
func refreshExpiry(sess userSession, now time.Time, refreshLifetime, upstreamLifetime time.Duration) time.Time {
	exp := now.Add(refreshLifetime)
	if sess.Identity.Upstream != "" {
		if end := sess.AuthTime.Add(upstreamLifetime); end.Before(exp) {
			exp = end
		}
	}
	return exp
}

// newLoginFamily returns a random id of a login's refresh tokens, in hex so that it is always a
// valid label value.
func newLoginFamily() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}
