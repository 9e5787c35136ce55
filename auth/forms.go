package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
)

// The login pages: plain HTML forms with labelled fields, usable with the keyboard alone, protected
// against cross-site request forgery with a double-submit cookie (a __Host- cookie, SameSite=Strict,
// whose value each form repeats in csrf_token; another site can neither read nor set it).
const (
	csrfCookie = "__Host-aurora-csrf"
	csrfField  = "csrf_token"
)

// hiddenField is a form field the page carries along.
type hiddenField struct{ Name, Value string }

// upstreamButton offers an organization's upstream identity provider.
type upstreamButton struct {
	Organization, DisplayName, Flow, Continue, UserCode string
}

// page is what a login page shows.
type page struct {
	Title   string
	Error   string
	Message string
	// Action is where the main form posts; empty shows no form.
	Action string
	CSRF   string
	Hidden []hiddenField
	// UserCodeField shows the user_code field, filled with UserCode.
	UserCodeField bool
	UserCode      string
	// PasswordFields shows username and password and the Log in button.
	PasswordFields bool
	// Upstream, when set, makes the main form a login through that identity provider instead.
	Upstream *upstreamButton
	// Upstreams are further identity providers offered below the password form.
	Upstreams   []upstreamButton
	UpstreamURL string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Aurora</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;font-weight:600;margin-top:1rem}
input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:.5rem 1.2rem;margin-top:1.2rem}
:focus{outline:3px solid #1a5fb4;outline-offset:2px}
.error{color:#a51d2d;font-weight:600}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Action}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}
{{if .UserCodeField}}<label for="user_code">Code shown on your device</label>
<input id="user_code" name="user_code" value="{{.UserCode}}" required autocomplete="off" autocapitalize="characters" spellcheck="false"{{if not .UserCode}} autofocus{{end}}>
{{end}}
{{if .Upstream}}<input type="hidden" name="organization" value="{{.Upstream.Organization}}">
<input type="hidden" name="flow" value="{{.Upstream.Flow}}">
<input type="hidden" name="continue" value="{{.Upstream.Continue}}">
<button type="submit">Log in with {{.Upstream.DisplayName}}</button>
{{else if .PasswordFields}}<label for="username">Username</label>
<input id="username" name="username" required autocomplete="username"{{if or .UserCode (not .UserCodeField)}} autofocus{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit">Log in</button>
{{end}}
</form>
{{end}}
{{range .Upstreams}}
<form method="post" action="{{$.UpstreamURL}}">
<input type="hidden" name="csrf_token" value="{{$.CSRF}}">
<input type="hidden" name="organization" value="{{.Organization}}">
<input type="hidden" name="flow" value="{{.Flow}}">
<input type="hidden" name="continue" value="{{.Continue}}">
{{if .UserCode}}<input type="hidden" name="user_code" value="{{.UserCode}}">{{end}}
<button type="submit">Log in with {{.DisplayName}} ({{.Organization}})</button>
</form>
{{end}}
</main>
</body>
</html>
`))

// renderPage writes p with status code, as a page no one may frame or cache.
func renderPage(w http.ResponseWriter, code int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	_ = pageTemplate.Execute(w, p)
}

// csrfToken returns the caller's CSRF token, setting a new cookie when it has none.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return token
}

// csrfValid reports whether a posted form repeats the caller's CSRF cookie.
func csrfValid(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get(csrfField))) == 1
}

// readLoginForm parses a posted login form (at most maxFormBytes) and checks its CSRF token; it
// answers the caller itself and returns false when the form is refused.
func readLoginForm(w http.ResponseWriter, r *http.Request, title string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, page{Title: title, Error: "The form could not be read."})
		return false
	}
	if !csrfValid(r) {
		renderPage(w, http.StatusForbidden, page{Title: title,
			Error: "The form expired or did not come from this site. Go back, reload the page and try again."})
		return false
	}
	return true
}
