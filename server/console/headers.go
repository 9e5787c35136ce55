package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// contentSecurityPolicy allows the app's own scripts and styles only (no inline script or style,
// no eval), network requests only to the Console's origin, the API and the auth service, and no
// framing.
func contentSecurityPolicy(c Config) string {
	connect := []string{"'self'"}
	for _, u := range []string{c.APIURL, c.Issuer} {
		if o := originOf(u); o != "" && !slices.Contains(connect, o) {
			connect = append(connect, o)
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src " + strings.Join(connect, " "),
		"manifest-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// originOf is scheme://host[:port] of an absolute URL, or "" when u is not one.
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// setSecurityHeaders sets the headers every answer of the Console carries.
func setSecurityHeaders(h http.Header, csp string, tls bool) {
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if tls {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}
