// Package console is Aurora's web UI: hand-written HTML, CSS and JavaScript modules embedded in the
// binary and served by `aurora server` under /console/. People log in with the authorization code
// flow and PKCE (S256) against the auth service; the app then talks to the REST API with the
// bearer token it received. No build step and no network access beyond Aurora's own endpoints are
// needed.
package console
