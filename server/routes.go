package server

import (
	"net/http"
	"slices"
	"strings"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// route is one operation of the API. The route table is the single source of the mux and of the
// OpenAPI check.
type route struct {
	// method is the HTTP method.
	method string
	// pattern is the path, with {name} for a path segment.
	pattern string
	// public routes need no token.
	public bool
	// scopes: the caller needs one of them (principal.HasScope; tenant and organization imply all).
	scopes []iamv1alpha1.Scope
	// bodyLimit bounds the request body; 0 means MaxBodyBytes.
	bodyLimit int64
	// handle serves the route.
	handle handlerFunc
}

var (
	deploymentScopes = []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}
	agentScopes      = []iamv1alpha1.Scope{iamv1alpha1.ScopeInfrastructureRead, iamv1alpha1.ScopeDeploymentFull}
	infraScopes      = []iamv1alpha1.Scope{iamv1alpha1.ScopeInfrastructureRead}
	tenantScopes     = []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull}
)

// routes returns the API's routes.
func (s *Server) routes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/healthz", public: true, handle: s.healthz},
		{method: http.MethodGet, pattern: "/readyz", public: true, handle: s.readyz},
		{method: http.MethodGet, pattern: "/openapi.json", public: true, handle: s.openAPI},

		{method: http.MethodPost, pattern: "/pipelines/kubernetes", scopes: deploymentScopes, bodyLimit: MaxDeployFileBytes, handle: s.startPipeline},
		{method: http.MethodGet, pattern: "/pipelines", scopes: deploymentScopes, handle: s.listPipelines},
		{method: http.MethodGet, pattern: "/pipelines/{id}", scopes: deploymentScopes, handle: s.getPipeline},
		{method: http.MethodGet, pattern: "/pipelines/{id}/config", scopes: deploymentScopes, handle: s.getPipelineConfig},
		{method: http.MethodPost, pattern: "/pipelines/{id}/approve", scopes: deploymentScopes, handle: s.judge("approve")},
		{method: http.MethodPost, pattern: "/pipelines/{id}/reject", scopes: deploymentScopes, handle: s.judge("reject")},
		{method: http.MethodPost, pattern: "/pipelines/{id}/skip", scopes: deploymentScopes, handle: s.judge("skip")},
		{method: http.MethodPost, pattern: "/pipelines/{id}/rollback", scopes: deploymentScopes, handle: s.judge("rollback")},
		{method: http.MethodPost, pattern: "/pipelines/{id}/cancel", scopes: deploymentScopes, handle: s.judge("cancel")},
		{method: http.MethodGet, pattern: "/deployments/{id}", scopes: deploymentScopes, handle: s.getDeployment},
		{method: http.MethodPost, pattern: "/webhooks/{pipelineId}/{target}/{gate}/callback", scopes: deploymentScopes, handle: s.webhookCallback},

		{method: http.MethodGet, pattern: "/identity/connected-agents", scopes: agentScopes, handle: s.connectedAgents},
		{method: http.MethodGet, pattern: "/infrastructure/agents/{agentIdentifier}/{kind}", scopes: infraScopes, handle: s.infrastructure},

		{method: http.MethodGet, pattern: "/credentials", scopes: tenantScopes, handle: s.listCredentials},
		{method: http.MethodPost, pattern: "/credentials", scopes: tenantScopes, handle: s.createCredential},
		{method: http.MethodGet, pattern: "/credentials/{name}", scopes: tenantScopes, handle: s.getCredential},
		{method: http.MethodDelete, pattern: "/credentials/{name}", scopes: tenantScopes, handle: s.deleteCredential},
		{method: http.MethodGet, pattern: "/secrets", scopes: deploymentScopes, handle: s.listSecrets},
		{method: http.MethodPut, pattern: "/secrets/{name}", scopes: deploymentScopes, bodyLimit: MaxSecretBodyBytes, handle: s.putSecret},
		{method: http.MethodDelete, pattern: "/secrets/{name}", scopes: deploymentScopes, handle: s.deleteSecret},
		{method: http.MethodGet, pattern: "/roles", scopes: tenantScopes, handle: s.listRoles},
		{method: http.MethodGet, pattern: "/environments", handle: s.listEnvironments},
		{method: http.MethodGet, pattern: "/whoami", handle: s.whoami},
	}
}

// patternMatches reports whether a request path matches a route pattern: same number of segments,
// each {wildcard} matching any non-empty segment.
func patternMatches(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) || (path != "/" && strings.HasSuffix(path, "/") && !strings.HasSuffix(pattern, "/")) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}

// allowedMethods returns the methods the routes serve for path, sorted; empty when none matches.
func allowedMethods(routes []route, path string) []string {
	var methods []string
	for _, rt := range routes {
		if patternMatches(rt.pattern, path) && !slices.Contains(methods, rt.method) {
			methods = append(methods, rt.method)
			if rt.method == http.MethodGet {
				methods = append(methods, http.MethodHead)
			}
		}
	}
	slices.Sort(methods)
	return methods
}
