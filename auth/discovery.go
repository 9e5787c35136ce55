package auth

import (
	"encoding/json"
	"net/http"
)

// discoveryDocument is the OpenID Connect provider metadata (OpenID Connect Discovery 1.0 §3,
// RFC 8414).
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
}

func (s *Service) discovery() discoveryDocument {
	d := discoveryDocument{
		Issuer:                            s.opts.Issuer,
		TokenEndpoint:                     s.opts.Issuer + TokenPath,
		JWKSURI:                           s.opts.Issuer + JWKSPath,
		ScopesSupported:                   knownScopeStrings(),
		ResponseTypesSupported:            []string{"token"},
		GrantTypesSupported:               []string{grantClientCredentials},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"ES256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope", "principal"},
	}
	if s.peopleEnabled() {
		d.AuthorizationEndpoint = s.opts.Issuer + AuthorizePath
		d.DeviceAuthorizationEndpoint = s.opts.Issuer + DeviceAuthorizationPath
		d.RevocationEndpoint = s.opts.Issuer + RevocationPath
		d.ScopesSupported = append(d.ScopesSupported, oidcScopes...)
		d.ResponseTypesSupported = []string{"code"}
		d.GrantTypesSupported = append(d.GrantTypesSupported, grantAuthorizationCode, grantDeviceCode, grantRefreshToken)
		d.TokenEndpointAuthMethodsSupported = append(d.TokenEndpointAuthMethodsSupported, "none")
		d.ClaimsSupported = append(d.ClaimsSupported, "nonce", "auth_time", "azp", "name", "preferred_username", "email", "organization", "groups")
		d.CodeChallengeMethodsSupported = []string{"S256"}
		d.AuthorizationResponseISSSupported = true
	}
	return d
}

func (s *Service) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, s.discovery())
}

func (s *Service) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	// Short caching: verifiers refetch on an unknown key id anyway, and a rotated-in key must be
	// found within a minute.
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, s.opts.Signer.PublicKeys())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
