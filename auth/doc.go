// Package auth is Aurora's OIDC service (discovery, JWKS, token endpoint issuing short-lived ES256
// JWTs to machines and people) and the token verification the Hub and the REST API use.
package auth
