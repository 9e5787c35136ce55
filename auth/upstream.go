package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/aurora-cd/aurora/auth/users"
)

// UpstreamIdP is an organization's own OpenID Connect identity provider: its people log in there
// (authorization code with PKCE), and the roles or groups claim of their verified ID token maps to
// the organization's roles (users.MapGroups: organization-admin, <environment>:<role>).
type UpstreamIdP struct {
	// Organization is the Aurora organization whose people log in there.
	Organization string `json:"organization"`
	// DisplayName names the provider on the login page; the issuer when empty.
	DisplayName string `json:"displayName,omitempty"`
	// Issuer is the provider's issuer URL (its discovery document is read from there).
	Issuer string `json:"issuer"`
	// ClientID and ClientSecret are Aurora's client registration at the provider.
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"-"`
	// RolesClaim is the ID token claim that carries the person's roles or groups. Default groups.
	RolesClaim string `json:"rolesClaim,omitempty"`
	// Scopes are asked for beside openid. Default profile, email.
	Scopes []string `json:"scopes,omitempty"`
}

// Flows an upstream login continues.
const (
	flowAuthorize = "authorize"
	flowDevice    = "device"
)

// upstreamCookie carries an upstream login's state, PKCE verifier and nonce through the browser.
const upstreamCookie = "__Host-aurora-upstream"

// upstreamState is the content of upstreamCookie.
type upstreamState struct {
	State        string `json:"s"`
	Verifier     string `json:"v"`
	Nonce        string `json:"n"`
	Organization string `json:"o"`
	Flow         string `json:"f"`
	// Continue is the authorization request (query string) or the device's user code.
	Continue string `json:"c"`
}

// upstream is a configured provider, discovered on first use.
type upstream struct {
	cfg         UpstreamIdP
	callback    string
	httpClient  *http.Client
	mu          sync.Mutex
	provider    *oidc.Provider
	discoveryAt time.Time
}

// organizationName is what a Tenant's organization may be: no hyphen, so that a tenant namespace
// aurora-<organization>-<environment> names one tenant only.
var organizationName = regexp.MustCompile(`^[a-z0-9]{1,27}$`)

// newUpstreams checks the providers' configuration; discovery waits for the first login.
func newUpstreams(cfgs []UpstreamIdP, callback string, hc *http.Client) (map[string]*upstream, error) {
	out := map[string]*upstream{}
	for i, c := range cfgs {
		u, err := url.Parse(c.Issuer)
		switch {
		case c.Organization == "":
			return nil, fmt.Errorf("upstreams[%d].organization: required", i)
		case !organizationName.MatchString(c.Organization):
			return nil, fmt.Errorf("upstreams[%d].organization: want lower-case letters and digits (as a Tenant's organization), got %q", i, c.Organization)
		case out[c.Organization] != nil:
			return nil, fmt.Errorf("upstreams[%d].organization: %s has an identity provider already", i, c.Organization)
		case err != nil || u.Scheme != "https" || u.Host == "":
			return nil, fmt.Errorf("upstreams[%d].issuer: want an https URL, got %q", i, c.Issuer)
		case c.ClientID == "":
			return nil, fmt.Errorf("upstreams[%d].clientId: required", i)
		case c.ClientSecret == "":
			return nil, fmt.Errorf("upstreams[%d] (%s): a client secret is required", i, c.Organization)
		}
		if c.DisplayName == "" {
			c.DisplayName = c.Issuer
		}
		if c.RolesClaim == "" {
			c.RolesClaim = "groups"
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"profile", "email"}
		}
		out[c.Organization] = &upstream{cfg: c, callback: callback, httpClient: hc}
	}
	return out, nil
}

// discover returns the provider, reading its discovery document once (again after a failure, at
// most every 10 seconds).
func (u *upstream) discover(ctx context.Context) (*oidc.Provider, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.provider != nil {
		return u.provider, nil
	}
	if time.Since(u.discoveryAt) < 10*time.Second {
		return nil, fmt.Errorf("identity provider %s was unreachable moments ago", u.cfg.Issuer)
	}
	u.discoveryAt = time.Now()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, u.httpClient), u.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering identity provider %s: %w", u.cfg.Issuer, err)
	}
	u.provider = p
	return p, nil
}

func (u *upstream) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: u.cfg.ClientID, ClientSecret: u.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: u.callback, Scopes: append([]string{oidc.ScopeOpenID}, u.cfg.Scopes...)}
}

// serveUpstreamStart sends the person to their organization's identity provider.
func (s *Service) serveUpstreamStart(w http.ResponseWriter, r *http.Request) {
	const title = "Log in to Aurora"
	if !readLoginForm(w, r, title) {
		return
	}
	if !s.limiter.allowRequest(remoteHost(r)) {
		renderPage(w, http.StatusTooManyRequests, page{Title: title, Error: "Too many requests. Wait a minute and try again."})
		return
	}
	st := upstreamState{Organization: r.PostForm.Get("organization"), Flow: r.PostForm.Get("flow"), Continue: r.PostForm.Get("continue")}
	up := s.upstreams[st.Organization]
	if up == nil {
		renderPage(w, http.StatusBadRequest, page{Title: title, Error: "Organization " + st.Organization + " has no identity provider."})
		return
	}
	switch st.Flow {
	case flowAuthorize:
		v, err := url.ParseQuery(st.Continue)
		if err != nil {
			renderPage(w, http.StatusBadRequest, page{Title: title, Error: "The login request could not be read."})
			return
		}
		if _, e := checkAuthorizeRequest(parseAuthorizeRequest(v), s.clients, s.opts.Audiences); e != nil {
			s.refuseAuthorize(w, r, parseAuthorizeRequest(v), e)
			return
		}
	case flowDevice:
		code, ok := normalizeUserCode(r.PostForm.Get("user_code"))
		if !ok {
			p := s.devicePage(w, r, "", st.Organization)
			p.Error = "That code is not valid. Enter the code your device shows (such as BCDF-GHJK)."
			renderPage(w, http.StatusBadRequest, p)
			return
		}
		st.Continue = code
	default:
		renderPage(w, http.StatusBadRequest, page{Title: title, Error: "The login request could not be read."})
		return
	}
	p, err := up.discover(r.Context())
	if err != nil {
		ctrl.Log.WithName("auth").Error(err, "Reaching an upstream identity provider failed", "organization", st.Organization)
		renderPage(w, http.StatusBadGateway, page{Title: title, Error: "The identity provider of " + st.Organization + " cannot be reached. Try again later."})
		return
	}
	st.State, st.Nonce, st.Verifier = randomURLString(), randomURLString(), oauth2.GenerateVerifier()
	raw, _ := json.Marshal(st)
	http.SetCookie(w, &http.Cookie{Name: upstreamCookie, Value: base64.RawURLEncoding.EncodeToString(raw), Path: "/",
		MaxAge: 600, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	target := up.oauth2Config(p).AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce))
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// serveUpstreamCallback finishes an upstream login: it checks the state, exchanges the code with the
// PKCE verifier, verifies the ID token and its nonce, maps the person's groups to roles and
// continues the authorization request or approves the device.
func (s *Service) serveUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	const title = "Log in to Aurora"
	log := ctrl.Log.WithName("auth").WithName("upstream")
	c, err := r.Cookie(upstreamCookie)
	http.SetCookie(w, &http.Cookie{Name: upstreamCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	var st upstreamState
	if err == nil {
		raw, derr := base64.RawURLEncoding.DecodeString(c.Value)
		if derr == nil {
			err = json.Unmarshal(raw, &st)
		} else {
			err = derr
		}
	}
	q := r.URL.Query()
	if err != nil || st.State == "" || subtle.ConstantTimeCompare([]byte(st.State), []byte(q.Get("state"))) != 1 {
		renderPage(w, http.StatusBadRequest, page{Title: title, Error: "The login expired or was not started here. Start again."})
		return
	}
	up := s.upstreams[st.Organization]
	if up == nil {
		renderPage(w, http.StatusBadRequest, page{Title: title, Error: "Organization " + st.Organization + " has no identity provider."})
		return
	}
	if e := q.Get("error"); e != "" {
		s.failUpstream(w, r, st, "The identity provider refused the login ("+e+").")
		return
	}
	id, err := s.upstreamIdentity(r.Context(), up, st, q.Get("code"))
	if err != nil {
		log.Info("Refused an upstream login", "organization", st.Organization, "reason", err.Error())
		s.failUpstream(w, r, st, "The login through the identity provider could not be verified.")
		return
	}
	switch st.Flow {
	case flowAuthorize:
		v, _ := url.ParseQuery(st.Continue)
		a := parseAuthorizeRequest(v)
		if _, e := checkAuthorizeRequest(a, s.clients, s.opts.Audiences); e != nil {
			s.refuseAuthorize(w, r, a, e)
			return
		}
		s.completeAuthorize(w, r, a, *id)
	default:
		s.completeDevice(w, r, st.Continue, *id)
	}
}

// failUpstream ends a failed upstream login: back to the client with access_denied, or a page.
func (s *Service) failUpstream(w http.ResponseWriter, r *http.Request, st upstreamState, msg string) {
	if st.Flow == flowAuthorize {
		v, _ := url.ParseQuery(st.Continue)
		a := parseAuthorizeRequest(v)
		if _, e := checkAuthorizeRequest(a, s.clients, s.opts.Audiences); e == nil {
			s.redirectToClient(w, r, a, url.Values{"error": {errAccessDenied}, "error_description": {msg}})
			return
		}
	}
	renderPage(w, http.StatusForbidden, page{Title: "Log in to Aurora", Error: msg})
}

// upstreamIdentity exchanges the code and turns the verified ID token into the person's identity.
func (s *Service) upstreamIdentity(ctx context.Context, up *upstream, st upstreamState, code string) (*users.Identity, error) {
	p, err := up.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, up.httpClient)
	tok, err := up.oauth2Config(p).Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, fmt.Errorf("exchanging the code: %w", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, errors.New("the token response has no id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: up.cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		return nil, fmt.Errorf("verifying the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, errors.New("the ID token's nonce does not match")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	groups := claimStrings(claims[up.cfg.RolesClaim])
	admin, tenants, ignored := users.MapGroups(groups)
	if len(ignored) > 0 {
		ctrl.Log.WithName("auth").WithName("upstream").V(1).Info("Ignored groups that name no role", "organization", up.cfg.Organization, "groups", ignored)
	}
	name, _ := claims["email"].(string)
	if name == "" {
		name = idt.Subject
	}
	display, _ := claims["name"].(string)
	id := users.Identity{Name: name, Organization: up.cfg.Organization, DisplayName: display, Email: stringClaim(claims, "email"),
		OrganizationAdmin: admin, Tenants: tenants, Upstream: up.cfg.Issuer}
	full, err := s.opts.Users.WithOrganizationTenants(ctx, id)
	if err != nil {
		return nil, err
	}
	return &full, nil
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func stringClaim(claims map[string]any, k string) string {
	s, _ := claims[k].(string)
	return s
}

func randomURLString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sortedKeys returns the organizations with an upstream provider, sorted.
func sortedKeys(m map[string]*upstream) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortHidden orders hidden fields by name, so that a page is the same for the same request.
func sortHidden(h []hiddenField) {
	slices.SortFunc(h, func(a, b hiddenField) int { return strings.Compare(a.Name, b.Name) })
}
