package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerifierMatches(t *testing.T) {
	verifier := strings.Repeat("a", 43)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		verifier, challenge string
		want                bool
	}{
		{verifier, challenge, true},
		{strings.Repeat("a", 44), challenge, false},
		{"", challenge, false},
		{strings.Repeat("a", 42), base64.RawURLEncoding.EncodeToString(func() []byte { s := sha256.Sum256([]byte(strings.Repeat("a", 42))); return s[:] }()), false}, // too short for RFC 7636
		{verifier + "!", challenge, false},
		{verifier, strings.Repeat("A", 43), false},
	} {
		if got := verifierMatches(tc.verifier, tc.challenge); got != tc.want {
			t.Errorf("verifierMatches(%q, %q) = %v, want %v", tc.verifier, tc.challenge, got, tc.want)
		}
	}
}

func TestCheckChallenge(t *testing.T) {
	good := strings.Repeat("A", 43)
	for _, tc := range []struct {
		challenge, method, wantErr string
	}{
		{good, "S256", ""},
		{good, "plain", "code_challenge_method: want S256"},
		{good, "", "code_challenge_method: want S256"},
		{"short", "S256", "code_challenge: want"},
		{strings.Repeat("A", 42) + "=", "S256", "code_challenge: want"},
	} {
		err := checkChallenge(tc.challenge, tc.method)
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.HasPrefix(err.Error(), tc.wantErr) {
			t.Errorf("checkChallenge(%q, %q) = %v, want %q", tc.challenge, tc.method, err, tc.wantErr)
		}
	}
}

func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		code, err := newUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := normalizeUserCode(code); !ok || n != code {
			t.Fatalf("newUserCode() = %q normalizes to %q, %v", code, n, ok)
		}
		seen[code] = true
	}
	if len(seen) < 195 {
		t.Errorf("only %d distinct codes of 200", len(seen))
	}
	for typed, want := range map[string]string{"bcdf-ghjk": "BCDF-GHJK", "BCDF GHJK": "BCDF-GHJK", "bcdfghjk": "BCDF-GHJK",
		"BCDF-GHJ": "", "BCDF-GHJKL": "", "ABCD-GHJK": "", "BCDF-GHJ1": "", "": ""} {
		got, ok := normalizeUserCode(typed)
		if ok != (want != "") || got != want {
			t.Errorf("normalizeUserCode(%q) = %q, %v; want %q", typed, got, ok, want)
		}
	}
}

func TestPollTooSoon(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		last     time.Time
		after    time.Duration
		interval int
		want     bool
	}{
		{time.Time{}, 0, 5, false},
		{t0, 5 * time.Second, 5, false},
		{t0, 4600 * time.Millisecond, 5, false}, // within the tenth of slack
		{t0, 4 * time.Second, 5, true},
		{t0, 9 * time.Second, 10, false},
		{t0, 8 * time.Second, 10, true},
	} {
		if got := pollTooSoon(tc.last, t0.Add(tc.after), tc.interval); got != tc.want {
			t.Errorf("pollTooSoon(+%v, interval %ds) = %v, want %v", tc.after, tc.interval, got, tc.want)
		}
	}
}

func TestCheckAuthorizeRequest(t *testing.T) {
	clients, err := newClientRegistry([]string{"https://console.example/cb"}, []OIDCClient{{ID: "other", Secret: "0123456789abcdef", RedirectURIs: []string{"https://other.example/cb"}}})
	if err != nil {
		t.Fatal(err)
	}
	ok := authorizeRequest{ClientID: "aurora-console", RedirectURI: "https://console.example/cb", ResponseType: "code",
		CodeChallenge: strings.Repeat("A", 43), CodeChallengeMethod: "S256"}
	with := func(f func(*authorizeRequest)) authorizeRequest { a := ok; f(&a); return a }
	for _, tc := range []struct {
		name     string
		req      authorizeRequest
		wantCode string
		redirect bool
	}{
		{"valid", ok, "", false},
		{"confidential client", with(func(a *authorizeRequest) { a.ClientID, a.RedirectURI = "other", "https://other.example/cb" }), "", false},
		{"no client", with(func(a *authorizeRequest) { a.ClientID = "" }), errInvalidRequest, false},
		{"the CLI has no redirect URI", with(func(a *authorizeRequest) { a.ClientID = "aurora-cli" }), errInvalidClient, false},
		{"unknown client", with(func(a *authorizeRequest) { a.ClientID = "who" }), errInvalidClient, false},
		{"unregistered redirect URI", with(func(a *authorizeRequest) { a.RedirectURI = "https://console.example/cb2" }), errInvalidRequest, false},
		{"another client's redirect URI", with(func(a *authorizeRequest) { a.RedirectURI = "https://other.example/cb" }), errInvalidRequest, false},
		{"implicit flow", with(func(a *authorizeRequest) { a.ResponseType = "token" }), "unsupported_response_type", true},
		{"no PKCE", with(func(a *authorizeRequest) { a.CodeChallenge, a.CodeChallengeMethod = "", "" }), errInvalidRequest, true},
		{"plain PKCE", with(func(a *authorizeRequest) { a.CodeChallengeMethod = "plain" }), errInvalidRequest, true},
		{"unknown audience", with(func(a *authorizeRequest) { a.Audience = "elsewhere" }), errInvalidTarget, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, e := checkAuthorizeRequest(tc.req, clients, []string{"aurora"})
			if tc.wantCode == "" {
				if e != nil {
					t.Fatalf("refused: %v", e)
				}
				return
			}
			if e == nil || e.code != tc.wantCode || e.redirect != tc.redirect {
				t.Fatalf("got %+v, want code %s redirect %v", e, tc.wantCode, tc.redirect)
			}
		})
	}
}

func TestNewClientRegistryNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		console []string
		clients []OIDCClient
		want    string
	}{
		{[]string{"http://console.example/cb"}, nil, "console redirect URI [0]"},
		{[]string{"https://console.example/cb#frag"}, nil, "console redirect URI [0]"},
		{nil, []OIDCClient{{ID: "", Secret: "0123456789abcdef", RedirectURIs: []string{"https://x/cb"}}}, "clients[0].clientId: required"},
		{nil, []OIDCClient{{ID: "aurora-cli", Secret: "0123456789abcdef", RedirectURIs: []string{"https://x/cb"}}}, `clients[0].clientId: "aurora-cli" is taken`},
		{nil, []OIDCClient{{ID: "x", Secret: "short", RedirectURIs: []string{"https://x/cb"}}}, "at least 16 characters"},
		{nil, []OIDCClient{{ID: "x", Secret: "0123456789abcdef"}}, "clients[0].redirectURIs: at least one"},
		{nil, []OIDCClient{{ID: "x", Secret: "0123456789abcdef", RedirectURIs: []string{"ftp://x/cb"}}}, "clients[0].redirectURIs[0]"},
	} {
		_, err := newClientRegistry(tc.console, tc.clients)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newClientRegistry(%v, %+v) = %v, want an error containing %q", tc.console, tc.clients, err, tc.want)
		}
	}
	if _, err := newClientRegistry([]string{"http://127.0.0.1:8080/cb", "https://console.example/cb"}, nil); err != nil {
		t.Errorf("loopback http and https redirect URIs refused: %v", err)
	}
}

func TestLoadUpstreamsAndClients(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("acme.secret", "s3cret\n")
	ups, err := LoadUpstreams(write("upstreams.yaml", "- organization: acme\n  issuer: https://sso.acme.example\n  clientId: aurora\n  clientSecretFile: acme.secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].ClientSecret != "s3cret" || ups[0].Organization != "acme" {
		t.Errorf("LoadUpstreams = %+v", ups)
	}
	if _, err := LoadUpstreams(write("typo.yaml", "- organisation: acme\n")); err == nil || !strings.Contains(err.Error(), "organisation") {
		t.Errorf("an unknown field: %v, want an error naming it", err)
	}
	if _, err := LoadUpstreams(write("nosecret.yaml", "- organization: acme\n  issuer: https://x\n  clientId: a\n")); err == nil ||
		!strings.Contains(err.Error(), "[0].clientSecretFile: required") {
		t.Errorf("a missing secret file: %v", err)
	}
	clients, err := LoadOIDCClients(write("clients.yaml", "- clientId: other\n  clientSecretFile: acme.secret\n  redirectURIs: [\"https://o/cb\"]\n"))
	if err != nil || len(clients) != 1 || clients[0].Secret != "s3cret" {
		t.Errorf("LoadOIDCClients = %+v, %v", clients, err)
	}
	if _, err := newUpstreams([]UpstreamIdP{{Organization: "acme", Issuer: "http://sso", ClientID: "a", ClientSecret: "b"}}, "https://cb", nil); err == nil ||
		!strings.Contains(err.Error(), "upstreams[0].issuer: want an https URL") {
		t.Errorf("an http issuer: %v", err)
	}
}

func TestNewUpstreamsNamesTheBadField(t *testing.T) {
	good := UpstreamIdP{Organization: "acme", Issuer: "https://sso.acme.example", ClientID: "aurora", ClientSecret: "s"}
	for _, tc := range []struct {
		name string
		edit func(*UpstreamIdP)
		want string
	}{
		{"no organization", func(u *UpstreamIdP) { u.Organization = "" }, "upstreams[0].organization: required"},
		// acme + corp-prod and acme-corp + prod would share the namespace aurora-acme-corp-prod.
		{"a hyphen in the organization", func(u *UpstreamIdP) { u.Organization = "acme-corp" }, "upstreams[0].organization: want lower-case letters and digits"},
		{"an http issuer", func(u *UpstreamIdP) { u.Issuer = "http://sso.acme.example" }, "upstreams[0].issuer: want an https URL"},
		{"no client id", func(u *UpstreamIdP) { u.ClientID = "" }, "upstreams[0].clientId: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := good
			tc.edit(&u)
			_, err := newUpstreams([]UpstreamIdP{u}, "https://auth.example/callback", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("newUpstreams = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := newUpstreams([]UpstreamIdP{good}, "https://auth.example/callback", nil); err != nil {
		t.Fatalf("a good upstream is refused: %v", err)
	}
}

func TestRefreshExpiry(t *testing.T) {
	login := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	local := userSession{AuthTime: login}
	upstream := userSession{AuthTime: login}
	upstream.Identity.Upstream = "https://sso.acme.example"
	for _, tc := range []struct {
		name string
		sess userSession
		now  time.Time
		want time.Time
	}{
		{"a local login: the refresh lifetime from now", local, login.Add(30 * 24 * time.Hour), login.Add(44 * 24 * time.Hour)},
		{"an upstream login, fresh: capped by the session", upstream, login.Add(time.Hour), login.Add(24 * time.Hour)},
		{"an upstream login refreshed late: still ends with the session", upstream, login.Add(23 * time.Hour), login.Add(24 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refreshExpiry(tc.sess, tc.now, 14*24*time.Hour, 24*time.Hour); !got.Equal(tc.want) {
				t.Errorf("refreshExpiry = %v, want %v", got, tc.want)
			}
		})
	}
}
