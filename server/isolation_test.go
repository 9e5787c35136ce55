package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
	"github.com/aurora-cd/aurora/server"
)

// operation is a documented route of the API.
type operation struct {
	method, path string
	public       bool
}

// documentedOperations reads the routes from the served OpenAPI document.
func documentedOperations() []operation {
	resp := get("/openapi.json", "")
	Expect(resp.status).To(Equal(http.StatusOK))
	var doc struct {
		Paths map[string]map[string]struct {
			Security *[]any `json:"security"`
		} `json:"paths"`
	}
	resp.into(&doc)
	var ops []operation
	for path, item := range doc.Paths {
		for method, op := range item {
			ops = append(ops, operation{method: strings.ToUpper(method), path: path, public: op.Security != nil && len(*op.Security) == 0})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].method+ops[i].path < ops[j].method+ops[j].path })
	Expect(len(ops)).To(BeNumerically(">=", 20))
	return ops
}

// fill replaces the path parameters of an operation.
func fill(path string, params map[string]string) string {
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	Expect(path).NotTo(ContainSubstring("{"), "every path parameter is filled")
	return path
}

// bodyFor is a request body fit for the operation.
func bodyFor(op operation, credentialName string) ([]byte, string) {
	switch {
	case op.method == http.MethodPut && op.path == "/secrets/{name}":
		return []byte(`{"value": "intruder-value"}`), "application/json"
	case op.method != http.MethodPost:
		return nil, ""
	case op.path == "/pipelines/kubernetes":
		return []byte(deployFile("isolated", "")), "application/yaml"
	case op.path == "/credentials":
		b, _ := json.Marshal(server.CredentialRequest{Name: credentialName, Scopes: []string{"api:deployment:full"}})
		return b, "application/json"
	case strings.HasSuffix(op.path, "/callback"):
		return []byte(`{"success": true}`), "application/json"
	}
	return []byte(`{"reason": "not yours"}`), "application/json"
}

var _ = Describe("Tenant isolation and authentication", Ordered, func() {
	var ourToken, pipelineID, rolloutName string
	var secrets []string
	var params map[string]string

	BeforeAll(func(ctx context.Context) {
		ourAdmin := newCredential(ctx, ours, "iso-admin", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull})
		ourToken = token(ourAdmin)
		secrets = []string{ourAdmin.secret, ourAdmin.clientID, ourToken}
		resp := postYAML("/pipelines/kubernetes", ourToken, deployFile("isolated", "contextOverrides: {marker: our-secret-marker}"))
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.StartAnswer
		resp.into(&ans)
		pipelineID = ans.PipelineID
		rolloutName = pipelineID + "-staging-manual"
		ro := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: rolloutName, Namespace: ours.namespace},
			Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: pipelineID, Application: "isolated", Target: "staging", Account: "iso-agent",
				Manifests: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: our-secret-marker}\n"},
				Strategy:  deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}}}}
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Expect(k8sClient.Create(ctx, &deployv1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Name: "iso-agent", Namespace: ours.namespace},
			Spec: deployv1alpha1.AgentSpec{AgentIdentifier: "iso-agent"}})).To(Succeed())
		resp = postJSON("/credentials", ourToken, server.CredentialRequest{Name: "iso-cred", Scopes: []string{"api:deployment:full"}})
		Expect(resp.status).To(Equal(http.StatusCreated), string(resp.body))
		var cred server.Credential
		resp.into(&cred)
		secrets = append(secrets, cred.ClientID, cred.ClientSecret)
		resp = call(http.MethodPut, "/secrets/iso-cred", ourToken, []byte(`{"value": "our-secret-value"}`), "application/json")
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		secrets = append(secrets, "our-secret-value")
		params = map[string]string{"id": pipelineID, "pipelineId": pipelineID, "target": "staging", "gate": "steps%5B1%5D",
			"name": "iso-cred", "agentIdentifier": "iso-agent", "kind": "namespaces"}
	})

	// forbiddenData is what must never show in another tenant's answers.
	forbiddenData := func() []string {
		return append([]string{ours.namespace, "our-secret-marker", "iso-admin"}, secrets...)
	}

	for _, other := range []struct {
		name   string
		tenant *tenantRef
		scope  iamv1alpha1.Scope
	}{
		{"another tenant of the organization", &sibling, iamv1alpha1.ScopeTenantFull},
		{"another organization", &foreign, iamv1alpha1.ScopeOrganizationFull},
	} {
		It("answers every route to "+other.name+" without any of our tenant's data", func(ctx context.Context) {
			theirs := newCredential(ctx, *other.tenant, "intruder", []iamv1alpha1.Scope{other.scope})
			tok := token(theirs)
			checked := 0
			for _, op := range documentedOperations() {
				if op.public {
					continue
				}
				body, ct := bodyFor(op, "iso-cred")
				path := fill(op.path, params)
				if op.path == "/pipelines/kubernetes" {
					path += "?dryRun=true"
				}
				got := call(op.method, path, tok, body, ct)
				for _, data := range forbiddenData() {
					Expect(string(got.body)).NotTo(ContainSubstring(data), "%s %s by %s leaks %q: %s", op.method, path, other.name, data, got.body)
				}
				if op.method == http.MethodPut && op.path == "/secrets/{name}" {
					// A PUT names no object of ours: it sets the caller's own tenant's secret.
					Expect(got.status).To(Equal(http.StatusOK), "%s %s by %s acts in its own tenant: %s", op.method, path, other.name, got.body)
					checked++
					continue
				}
				if !strings.Contains(op.path, "{") {
					Expect(got.status).To(BeNumerically("<", 300), "%s %s by %s acts in its own tenant: %s", op.method, path, other.name, got.body)
					checked++
					continue
				}
				Expect(got.status).To(BeElementOf(http.StatusNotFound, http.StatusForbidden), "%s %s by %s: %s", op.method, path, other.name, got.body)
				// The answer is the one for an object that exists nowhere: nothing tells ours exists.
				bogus := map[string]string{}
				for k, v := range params {
					bogus[k] = v
				}
				for _, k := range []string{"id", "pipelineId", "name", "agentIdentifier"} {
					bogus[k] = "zz-" + params[k]
				}
				ghost := call(op.method, fill(op.path, bogus), tok, body, ct)
				Expect(ghost.status).To(Equal(got.status), "%s %s: the status tells an existing object from a missing one", op.method, op.path)
				Expect(strings.ReplaceAll(string(ghost.body), "zz-", "")).To(Equal(string(got.body)), "%s %s: the body tells an existing object from a missing one", op.method, op.path)
				checked++
			}
			Expect(checked).To(BeNumerically(">=", 20))
			By("our secret still holds our value, theirs is in their own namespace")
			opened, err := (&tenantsecrets.Store{Client: k8sClient, Sealer: secretSealer}).Resolver(ctx, ours.namespace)("iso-cred")
			Expect(err).NotTo(HaveOccurred())
			Expect(opened).To(Equal("our-secret-value"))
			opened, err = (&tenantsecrets.Store{Client: k8sClient, Sealer: secretSealer}).Resolver(ctx, other.tenant.namespace)("iso-cred")
			Expect(err).NotTo(HaveOccurred())
			Expect(opened).To(Equal("intruder-value"))
		})
	}

	It("answers 401 to every route without a valid token: none, malformed, wrong audience, expired", func(ctx context.Context) {
		cred := newCredential(ctx, ours, "iso-auth", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull})
		wrongAudience := token(cred, otherAudience)
		valid := token(cred)
		for _, op := range documentedOperations() {
			if op.public {
				continue
			}
			body, ct := bodyFor(op, "never-created")
			path := fill(op.path, params)
			for _, c := range []struct {
				what, token, base string
			}{
				{"no token", "", apiURL},
				{"a malformed token", "not-a-jwt", apiURL},
				{"a token with a forged signature", valid[:len(valid)-4] + "AAAA", apiURL},
				{"a token for another audience", wrongAudience, apiURL},
				{"an expired token", valid, laterAPIURL},
			} {
				got := call(op.method, path, c.token, body, ct, c.base)
				Expect(got.status).To(Equal(http.StatusUnauthorized), "%s %s with %s: %s", op.method, path, c.what, got.body)
				Expect(got.errorBody().Code).To(Equal(server.CodeUnauthenticated))
				Expect(got.header.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
				if c.token != "" {
					Expect(string(got.body)).NotTo(ContainSubstring(c.token))
				}
			}
		}
		Expect(get("/credentials/never-created", valid).status).To(Equal(http.StatusNotFound), "nothing was created by refused requests")
		opened, err := (&tenantsecrets.Store{Client: k8sClient, Sealer: secretSealer}).Resolver(ctx, ours.namespace)("iso-cred")
		Expect(err).NotTo(HaveOccurred())
		Expect(opened).To(Equal("our-secret-value"), "refused requests changed no secret")
	})

	It("answers unknown routes with 404 and wrong methods with 405 and Allow, as JSON", func() {
		resp := get("/nowhere", ourToken)
		Expect(resp.status).To(Equal(http.StatusNotFound))
		Expect(resp.errorBody().Code).To(Equal(server.CodeNotFound))
		resp = call(http.MethodDelete, "/pipelines/"+pipelineID, ourToken, nil, "")
		Expect(resp.status).To(Equal(http.StatusMethodNotAllowed))
		Expect(resp.header.Get("Allow")).To(Equal("GET, HEAD"))
		Expect(resp.errorBody().Code).To(Equal(server.CodeMethodNotAllowed))
	})

	It("bounds other bodies at 64 KiB", func() {
		big := `{"reason": "` + strings.Repeat("x", server.MaxBodyBytes) + `"}`
		resp := call(http.MethodPost, "/pipelines/"+pipelineID+"/cancel", ourToken, []byte(big), "application/json")
		Expect(resp.status).To(Equal(http.StatusRequestEntityTooLarge))
		Expect(resp.errorBody().Code).To(Equal(server.CodeTooLarge))
	})

	It("mounts the Console at /console/ when one is given, and redirects / there", func() {
		console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("console at " + r.URL.Path)) })
		api, err := server.New(server.Options{Client: k8sClient, Verifier: newVerifier(context.Background(), time.Now), Console: console})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewUnstartedServer(api.Handler())
		ts.TLS = serverTLS.Clone()
		ts.StartTLS()
		defer ts.Close()
		noRedirect := &http.Client{Transport: httpClient.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get(ts.URL + "/")
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusFound))
		Expect(resp.Header.Get("Location")).To(Equal("/console/"))
		got := call(http.MethodGet, "/console/pipelines", "", nil, "", ts.URL)
		Expect(got.status).To(Equal(http.StatusOK))
		Expect(string(got.body)).To(Equal("console at /console/pipelines"))
		Expect(call(http.MethodGet, "/whoami", "", nil, "", ts.URL).status).To(Equal(http.StatusUnauthorized), "the API still needs a token")
		Expect(get("/", "").status).To(Equal(http.StatusNotFound), "without a Console, / is not found")
	})

	It("logs one structured line per request, without the token or any secret", func(ctx context.Context) {
		var mu sync.Mutex
		var lines []string
		log := funcr.New(func(prefix, args string) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, prefix+" "+args)
		}, funcr.Options{})
		api, err := server.New(server.Options{Client: k8sClient, Verifier: newVerifier(ctx, time.Now), Log: log})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewUnstartedServer(api.Handler())
		ts.TLS = serverTLS.Clone()
		ts.StartTLS()
		defer ts.Close()
		Expect(call(http.MethodGet, "/whoami?token="+ourToken, ourToken, nil, "", ts.URL).status).To(Equal(http.StatusOK))
		resp := call(http.MethodPost, "/credentials", ourToken, []byte(`{"name": "logged", "scopes": ["api:deployment:full"]}`), "application/json", ts.URL)
		Expect(resp.status).To(Equal(http.StatusCreated), string(resp.body))
		var cred server.Credential
		resp.into(&cred)
		mu.Lock()
		defer mu.Unlock()
		joined := strings.Join(lines, "\n")
		Expect(joined).To(ContainSubstring(`"path"="/whoami"`))
		Expect(joined).To(ContainSubstring(`"principal"="iso-admin"`))
		Expect(joined).To(ContainSubstring(`"status"=201`))
		Expect(joined).NotTo(ContainSubstring(ourToken))
		Expect(joined).NotTo(ContainSubstring(cred.ClientSecret))
	})
})
