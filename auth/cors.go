package auth

import (
	"net/http"
	"net/url"
	"slices"
)

// corsPaths are the endpoints a browser app (the Console) calls with fetch from its own origin:
// discovery, keys, tokens and revocation. The pages people see are navigations and need no CORS.
var corsPaths = []string{DiscoveryPath, JWKSPath, TokenPath, RevocationPath}

// consoleOrigins are the origins (scheme://host:port) of the Console's redirect URIs: the only
// origins whose scripts may read the answers of the auth service.
func consoleOrigins(redirectURIs []string) []string {
	var origins []string
	for _, raw := range redirectURIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue
		}
		if o := u.Scheme + "://" + u.Host; !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return origins
}

// allowConsoleOrigins lets scripts of the Console's origins read the answers of corsPaths
// (Access-Control-Allow-Origin, never with credentials: the Console sends no cookies). Requests
// from other origins are served as before, without the header, so their scripts cannot read them.
func allowConsoleOrigins(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(corsPaths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !slices.Contains(origins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions {
			// A preflight: the Console's requests are simple, but allow the form and JSON types.
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
