package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/aurora-cd/aurora/auth/users"
)

// Error codes of the device grant (RFC 8628 §3.5) and of people's grants.
const (
	errAuthorizationPending = "authorization_pending"
	errExpiredToken         = "expired_token"
	errAccessDenied         = "access_denied"
	errInvalidGrant         = "invalid_grant"
	errUnauthorizedClient   = "unauthorized_client"
)

// Device grant states.
const (
	devicePending  = "pending"
	deviceApproved = "approved"
	deviceDenied   = "denied"
)

// deviceGrant is a stored device code.
type deviceGrant struct {
	// State is pending until the person logs in, then approved or denied.
	State string `json:"state"`
	// Interval is the polling interval in seconds; slow_down raises it by 5.
	Interval int `json:"interval"`
	// LastPoll is when the device last polled.
	LastPoll time.Time `json:"lastPoll,omitzero"`
	// Session is what the grant gives the device once approved (ClientID, Scope and Audience
	// from the start).
	Session userSession `json:"session"`
}

// deviceAuthorizationResponse is RFC 8628 §3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// serveDeviceAuthorization starts a device flow for a client allowed the device grant (aurora-cli).
func (s *Service) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
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
	if !c.device {
		writeOAuthError(w, http.StatusBadRequest, errUnauthorizedClient, "this client may not use the device grant", basic)
		return
	}
	audience, ok := s.audience(w, form.Get("audience"), basic)
	if !ok {
		return
	}
	deviceCode, err := randomToken("aur_dc_")
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "starting the device flow failed", basic)
		return
	}
	userCode, err := newUserCode()
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "starting the device flow failed", basic)
		return
	}
	interval := int(s.opts.DevicePollInterval / time.Second)
	rec := deviceGrant{State: devicePending, Interval: interval,
		Session: userSession{ClientID: c.id, Scope: form.Get("scope"), Audience: audience}}
	if err := s.opts.Grants.put(r.Context(), grantDevice, deviceCode, map[string]string{userCodeLabel: tokenHash(userCode, 48)},
		rec, s.opts.Now().Add(s.opts.DeviceCodeLifetime)); err != nil {
		ctrl.Log.WithName("auth").Error(err, "Storing a device code failed")
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "starting the device flow failed", basic)
		return
	}
	verify := s.opts.Issuer + DevicePath
	writeJSON(w, http.StatusOK, deviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: userCode, VerificationURI: verify,
		VerificationURIComplete: verify + "?" + url.Values{"user_code": {userCode}}.Encode(),
		ExpiresIn:               int64(s.opts.DeviceCodeLifetime / time.Second), Interval: int64(interval),
	})
}

// audience checks the audience a client asks for; the first configured one when empty.
func (s *Service) audience(w http.ResponseWriter, asked string, basic bool) (string, bool) {
	if asked == "" {
		return s.opts.Audiences[0], true
	}
	if !slices.Contains(s.opts.Audiences, asked) {
		writeOAuthError(w, http.StatusBadRequest, errInvalidTarget, "audience "+asked+" is not served by this issuer", basic)
		return "", false
	}
	return asked, true
}

// pollTooSoon reports whether a poll at now comes before the interval since the last one has
// passed (with a tenth of slack for the poller's clock).
func pollTooSoon(last, now time.Time, intervalSeconds int) bool {
	if last.IsZero() {
		return false
	}
	return now.Sub(last) < time.Duration(intervalSeconds)*time.Second*9/10
}

// deviceCodeGrant answers a device polling for its token.
func (s *Service) deviceCodeGrant(w http.ResponseWriter, r *http.Request, form url.Values, c *oauthClient) {
	ctx := r.Context()
	var rec deviceGrant
	sec, err := s.opts.Grants.get(ctx, grantDevice, form.Get("device_code"), &rec)
	switch {
	case errors.Is(err, errGrantExpired):
		writeOAuthError(w, http.StatusBadRequest, errExpiredToken, "the device code has expired; start again", false)
		return
	case errors.Is(err, ErrGrantNotFound):
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "unknown device code", false)
		return
	case err != nil:
		ctrl.Log.WithName("auth").Error(err, "Reading a device code failed")
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "reading the device code failed", false)
		return
	}
	if rec.Session.ClientID != c.id {
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the device code belongs to another client", false)
		return
	}
	now := s.opts.Now()
	switch rec.State {
	case deviceDenied:
		_ = s.opts.Grants.remove(ctx, sec)
		writeOAuthError(w, http.StatusBadRequest, errAccessDenied, "the login was refused", false)
	case deviceApproved:
		if err := s.opts.Grants.remove(ctx, sec); err != nil {
			writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, "the device code was already used", false)
			return
		}
		s.writeUserTokens(w, r, rec.Session)
	default:
		tooSoon := pollTooSoon(rec.LastPoll, now, rec.Interval)
		if tooSoon {
			rec.Interval += 5
		}
		rec.LastPoll = now
		if err := s.opts.Grants.update(ctx, sec, rec); err != nil && !apierrors.IsConflict(err) {
			ctrl.Log.WithName("auth").Error(err, "Recording a device poll failed")
		} else if apierrors.IsConflict(err) {
			tooSoon = true // another poll at the same moment
		}
		if tooSoon {
			writeOAuthError(w, http.StatusBadRequest, errSlowDown, "polling too often; wait interval+5 seconds", false)
			return
		}
		writeOAuthError(w, http.StatusBadRequest, errAuthorizationPending, "waiting for the person to log in", false)
	}
}

// writeUserTokens issues the tokens of a session and writes the token response.
func (s *Service) writeUserTokens(w http.ResponseWriter, r *http.Request, sess userSession) {
	resp, err := s.issueUserTokens(r.Context(), sess)
	switch {
	case errors.Is(err, errTenant):
		writeOAuthError(w, http.StatusBadRequest, errInvalidGrant, err.Error(), false)
	case errors.Is(err, errInvalidScopeRequest):
		writeOAuthError(w, http.StatusBadRequest, errInvalidScope, err.Error(), false)
	case err != nil:
		ctrl.Log.WithName("auth").Error(err, "Issuing a user's tokens failed", "user", sess.Identity.Name)
		writeOAuthError(w, http.StatusInternalServerError, errServerError, "issuing the tokens failed", false)
	default:
		ctrl.Log.WithName("auth").V(1).Info("Issued a user's tokens", "user", sess.Identity.Name, "organization",
			sess.Identity.Organization, "environment", sess.Environment, "client", sess.ClientID)
		writeJSON(w, http.StatusOK, resp)
	}
}

// devicePage is the device login page for userCode.
func (s *Service) devicePage(w http.ResponseWriter, r *http.Request, userCode, organization string) page {
	p := page{Title: "Log in to Aurora", Action: s.opts.Issuer + DevicePath, CSRF: csrfToken(w, r),
		UserCodeField: true, UserCode: userCode, PasswordFields: true, UpstreamURL: s.opts.Issuer + UpstreamStartPath,
		Message: "Enter the code your device shows, then log in."}
	if up := s.upstreams[organization]; up != nil {
		p.Upstream = &upstreamButton{Organization: organization, DisplayName: up.cfg.DisplayName, Flow: flowDevice}
		p.Action = s.opts.Issuer + UpstreamStartPath
		return p
	}
	if userCode != "" {
		for _, org := range sortedKeys(s.upstreams) {
			p.Upstreams = append(p.Upstreams, upstreamButton{Organization: org, DisplayName: s.upstreams[org].cfg.DisplayName,
				Flow: flowDevice, UserCode: userCode})
		}
	}
	return p
}

// serveDevicePage shows the device login form, the user code filled in from verification_uri_complete.
func (s *Service) serveDevicePage(w http.ResponseWriter, r *http.Request) {
	code, _ := normalizeUserCode(r.URL.Query().Get("user_code"))
	renderPage(w, http.StatusOK, s.devicePage(w, r, code, r.URL.Query().Get("organization")))
}

// serveDeviceLogin checks a person's login on the device page and approves the device code.
func (s *Service) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	const title = "Log in to Aurora"
	if !readLoginForm(w, r, title) {
		return
	}
	userCode, ok := normalizeUserCode(r.PostForm.Get("user_code"))
	retry := s.devicePage(w, r, r.PostForm.Get("user_code"), "")
	if !ok {
		retry.Error = "That code is not valid. Enter the code your device shows (such as BCDF-GHJK)."
		renderPage(w, http.StatusBadRequest, retry)
		return
	}
	retry.UserCode = userCode
	id, ok := s.passwordLogin(w, r, retry)
	if !ok {
		return
	}
	if !s.completeDevice(w, r, userCode, *id) {
		// A wrong user code spends the person's failures too: guessing codes is rate-limited.
		s.limiter.recordFailure("user/"+r.PostForm.Get("username"), remoteHost(r))
	}
}

// completeDevice approves the device code userCode for the person who logged in (or denies it
// when they may use no tenant) and shows the outcome. It reports false when no pending device code
// has that user code.
func (s *Service) completeDevice(w http.ResponseWriter, r *http.Request, userCode string, id users.Identity) bool {
	const title = "Log in to Aurora"
	ctx := r.Context()
	var rec deviceGrant
	sec, err := s.opts.Grants.findByUserCode(ctx, userCode, &rec)
	if err != nil || rec.State != devicePending {
		if err != nil && !errors.Is(err, ErrGrantNotFound) {
			ctrl.Log.WithName("auth").Error(err, "Finding a device code failed")
		}
		p := s.devicePage(w, r, "", "")
		p.Error = "That code is not valid or has expired. Start the login on your device again."
		renderPage(w, http.StatusBadRequest, p)
		return false
	}
	rec.Session.Identity = id
	rec.Session.AuthTime = s.opts.Now()
	rec.State = deviceApproved
	if _, err := id.Principal(""); err != nil {
		rec.State = deviceDenied
	}
	if err := s.opts.Grants.update(ctx, sec, rec); err != nil {
		if apierrors.IsConflict(err) {
			renderPage(w, http.StatusConflict, page{Title: title, Error: "The code was used at the same moment. Start the login on your device again."})
			return true
		}
		ctrl.Log.WithName("auth").Error(err, "Approving a device code failed")
		renderPage(w, http.StatusInternalServerError, page{Title: title, Error: "The login could not be recorded. Try again."})
		return true
	}
	if rec.State == deviceDenied {
		renderPage(w, http.StatusForbidden, page{Title: title, Error: "Your account may not use any tenant of " + id.Organization + ". Ask an organization admin for a role."})
		return true
	}
	ctrl.Log.WithName("auth").Info("A person approved a device login", "user", id.Name, "organization", id.Organization)
	renderPage(w, http.StatusOK, page{Title: "You are logged in", Message: "You are logged in as " + id.Name + ". Return to your device; you may close this page."})
	return true
}

// passwordLogin checks the username and password of a posted login form within the rate limits. On
// failure it shows retry with the reason and returns false. Unknown users and wrong passwords get the
// same answer.
func (s *Service) passwordLogin(w http.ResponseWriter, r *http.Request, retry page) (*users.Identity, bool) {
	addr := remoteHost(r)
	name := r.PostForm.Get("username")
	password := r.PostForm.Get("password")
	account := "user/" + name
	if !s.limiter.allowRequest(addr) || !s.limiter.allowAttempt(account, addr) {
		retry.Error = "Too many failed attempts. Wait a minute and try again."
		renderPage(w, http.StatusTooManyRequests, retry)
		return nil, false
	}
	id, err := s.opts.Users.Authenticate(r.Context(), name, password)
	if err != nil {
		if !errors.Is(err, users.ErrInvalidLogin) {
			ctrl.Log.WithName("auth").Error(err, "Checking a login failed")
			retry.Error = "The login could not be checked. Try again."
			renderPage(w, http.StatusInternalServerError, retry)
			return nil, false
		}
		s.limiter.recordFailure(account, addr)
		ctrl.Log.WithName("auth").Info("Refused a login", "address", addr)
		retry.Error = "Wrong username or password."
		renderPage(w, http.StatusUnauthorized, retry)
		return nil, false
	}
	return id, true
}

// deleteExpiredGrants removes expired grants every interval until ctx ends.
func (s *Service) deleteExpiredGrants(ctx context.Context, interval time.Duration) {
	if !s.peopleEnabled() {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.opts.Grants.DeleteExpired(ctx); err != nil {
				ctrl.Log.WithName("auth").Error(err, "Deleting expired grants failed")
			} else if n > 0 {
				ctrl.Log.WithName("auth").V(1).Info("Deleted expired grants", "count", n)
			}
		}
	}
}
