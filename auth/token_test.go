package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
)

// credential creates a MachineCredential in the tenant namespace and returns its client id and
// secret once the controller issued them.
func credential(ctx context.Context, namespace, name string, scopes []iamv1alpha1.Scope, mutate ...func(*iamv1alpha1.MachineCredential)) (id, secret string) {
	GinkgoHelper()
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: scopes, Roles: []string{"deployer"}}}
	for _, m := range mutate {
		m(mc)
	}
	Expect(k8sClient.Create(ctx, mc)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(mc.Status.SecretHashes).NotTo(BeEmpty())
	}).WithContext(ctx).Should(Succeed())
	s := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: mc.Status.SecretName}, s)).To(Succeed())
	return string(s.Data[machinecredential.ClientIDKey]), string(s.Data[machinecredential.ClientSecretKey])
}

// clientCredentials is the client of golang.org/x/oauth2 that CI tools and agents use.
func clientCredentials(id, secret string, style oauth2.AuthStyle, scopes ...string) *clientcredentials.Config {
	return &clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: issuer + "/oauth/token",
		Scopes: scopes, AuthStyle: style, EndpointParams: url.Values{"audience": {"aurora"}}}
}

func oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, httpClient)
}

// postToken sends a raw token request and returns the status and the decoded JSON body.
func postToken(ctx context.Context, form url.Values, basicUser, basicPassword string) (int, map[string]any, string) {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth/token", strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPassword))
	}
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	body := map[string]any{}
	Expect(json.Unmarshal(raw, &body)).To(Succeed(), string(raw))
	Expect(resp.Header.Get("Cache-Control")).To(Equal("no-store"))
	return resp.StatusCode, body, resp.Header.Get("WWW-Authenticate")
}

// ourVerifier is the verification package the Hub and the REST API use.
func ourVerifier(ctx context.Context, audience string) *verify.Verifier {
	GinkgoHelper()
	v, err := verify.NewVerifier(ctx, verify.Options{IssuerURL: issuer, Audience: audience, HTTPClient: httpClient})
	Expect(err).NotTo(HaveOccurred())
	return v
}

var _ = Describe("Auth service", func() {
	It("publishes a discovery document and a JWKS that standard clients accept", func(ctx SpecContext) {
		provider, err := oidc.NewProvider(oidc.ClientContext(ctx, httpClient), issuer)
		Expect(err).NotTo(HaveOccurred(), "go-oidc accepts the discovery document")
		Expect(provider.Endpoint().TokenURL).To(Equal(issuer + "/oauth/token"))
		var doc map[string]any
		Expect(provider.Claims(&doc)).To(Succeed())
		Expect(doc).To(HaveKeyWithValue("grant_types_supported", ContainElement("client_credentials")))
		Expect(doc).To(HaveKeyWithValue("token_endpoint_auth_methods_supported", ConsistOf("client_secret_basic", "client_secret_post", "none")))
		Expect(doc).To(HaveKeyWithValue("id_token_signing_alg_values_supported", ConsistOf("ES256")))

		resp, err := httpClient.Get(doc["jwks_uri"].(string))
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		var jwks struct{ Keys []map[string]any }
		Expect(json.NewDecoder(resp.Body).Decode(&jwks)).To(Succeed())
		Expect(jwks.Keys).NotTo(BeEmpty())
		for _, k := range jwks.Keys {
			Expect(k).To(HaveKeyWithValue("alg", "ES256"))
			Expect(k).To(HaveKeyWithValue("kty", "EC"))
			Expect(k).NotTo(HaveKey("d"), "no private part is published")
		}
	})

	DescribeTable("issues a token with the client-credentials grant that go-oidc and our verifier accept",
		func(ctx SpecContext, style oauth2.AuthStyle) {
			id, secret := credential(ctx, "aurora-acme-prod", "ci-"+map[oauth2.AuthStyle]string{oauth2.AuthStyleInHeader: "basic", oauth2.AuthStyleInParams: "post"}[style],
				[]iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull, iamv1alpha1.ScopeInfrastructureRead})
			tok, err := clientCredentials(id, secret, style).Token(oauthContext(ctx))
			Expect(err).NotTo(HaveOccurred())
			Expect(tok.TokenType).To(Equal("Bearer"))
			Expect(time.Until(tok.Expiry)).To(BeNumerically("~", tokenLifetime, 10*time.Second))
			Expect(tok.Extra("scope")).To(Equal("api:deployment:full read:infrastructure:data"))

			provider, err := oidc.NewProvider(oidc.ClientContext(ctx, httpClient), issuer)
			Expect(err).NotTo(HaveOccurred())
			idt, err := provider.Verifier(&oidc.Config{ClientID: "aurora"}).Verify(oidc.ClientContext(ctx, httpClient), tok.AccessToken)
			Expect(err).NotTo(HaveOccurred(), "go-oidc verifies the token through discovery")
			Expect(idt.Subject).To(Equal(id))
			var claims principal.Claims
			Expect(idt.Claims(&claims)).To(Succeed())
			Expect(claims.ID).NotTo(BeEmpty())
			Expect(claims.NotBefore).NotTo(BeNil())
			Expect(claims.IssuedAt).NotTo(BeNil())
			Expect(claims.Principal).To(Equal(principal.Principal{
				Type: principal.Machine, Name: claims.Principal.Name, Organization: "acme", Environment: "prod",
				Scopes: []string{"api:deployment:full", "read:infrastructure:data"}, Roles: []string{"deployer"}, ClientID: id,
			}))

			ours, err := ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)
			Expect(err).NotTo(HaveOccurred())
			Expect(ours.Principal.Organization).To(Equal("acme"))
			Expect(ours.Principal.HasScope(iamv1alpha1.ScopeDeploymentFull)).To(BeTrue())
			Expect(ours.Principal.HasScope(iamv1alpha1.ScopeAgentHubFull)).To(BeFalse())
		},
		Entry("client_secret_basic", oauth2.AuthStyleInHeader),
		Entry("client_secret_post", oauth2.AuthStyleInParams),
	)

	It("narrows a token to the requested scopes and never grants more than the credential has", func(ctx SpecContext) {
		id, secret := credential(ctx, "aurora-acme-prod", "narrow", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull, iamv1alpha1.ScopeInfrastructureRead})
		tok, err := clientCredentials(id, secret, oauth2.AuthStyleInHeader, "read:infrastructure:data").Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		claims, err := ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Principal.Scopes).To(Equal([]string{"read:infrastructure:data"}))
		Expect(claims.Scope).To(Equal("read:infrastructure:data"))

		_, err = clientCredentials(id, secret, oauth2.AuthStyleInHeader, "api:agentHub:full").Token(oauthContext(ctx))
		var re *oauth2.RetrieveError
		Expect(err).To(BeAssignableToTypeOf(re))
		Expect(err.(*oauth2.RetrieveError).ErrorCode).To(Equal("invalid_scope"))
		_, err = clientCredentials(id, secret, oauth2.AuthStyleInHeader, "api:organization:full").Token(oauthContext(ctx))
		Expect(err).To(MatchError(ContainSubstring("invalid_scope")))
	})

	It("refuses bad requests with the errors of RFC 6749 and leaks nothing", func(ctx SpecContext) {
		id, secret := credential(ctx, "aurora-acme-prod", "errors", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		wrong := secret[:len(secret)-3] + "xyz"

		code, body, challenge := postToken(ctx, url.Values{"grant_type": {"client_credentials"}}, id, wrong)
		Expect(code).To(Equal(http.StatusUnauthorized))
		Expect(body).To(HaveKeyWithValue("error", "invalid_client"))
		Expect(challenge).To(HavePrefix("Basic"))
		Expect(body["error_description"]).NotTo(ContainSubstring(wrong[4:]))

		code, unknownBody, _ := postToken(ctx, url.Values{"grant_type": {"client_credentials"}, "client_id": {"nosuchclient"}, "client_secret": {secret}}, "", "")
		Expect(code).To(Equal(http.StatusUnauthorized))
		Expect(unknownBody).To(Equal(body), "an unknown client and a wrong secret look the same")

		code, body, _ = postToken(ctx, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, id, secret)
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "unsupported_grant_type"))

		code, body, _ = postToken(ctx, url.Values{}, id, secret)
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_request"))
		Expect(body["error_description"]).To(ContainSubstring("grant_type"))

		code, body, _ = postToken(ctx, url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}, id, secret)
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_request"), "two authentication methods at once")

		code, body, _ = postToken(ctx, url.Values{"grant_type": {"client_credentials"}, "audience": {"someone-else"}}, id, secret)
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_target"))

		code, body, _ = postToken(ctx, url.Values{"grant_type": {"client_credentials"}}, "", "")
		Expect(code).To(Equal(http.StatusUnauthorized))
		Expect(body).To(HaveKeyWithValue("error", "invalid_client"))
	})

	It("stops issuing tokens at once when a credential is deleted or expires, and honours rotation", func(ctx SpecContext) {
		id, secret := credential(ctx, "aurora-acme-prod", "doomed", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		_, err := clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Delete(ctx, &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: "doomed", Namespace: "aurora-acme-prod"}})).To(Succeed())
		_, err = clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).To(MatchError(ContainSubstring("invalid_client")), "refused right after the delete returned")

		expiresAt := metav1.NewTime(time.Now().Add(2 * time.Second))
		id, secret = credential(ctx, "aurora-acme-prod", "expiring", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull},
			func(mc *iamv1alpha1.MachineCredential) { mc.Spec.ExpiresAt = &expiresAt })
		tok, err := clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		claims, err := ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Expiry.Time()).To(BeTemporally("<=", expiresAt.Time), "a token never outlives its credential")
		time.Sleep(time.Until(expiresAt.Time) + 100*time.Millisecond)
		_, err = clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).To(MatchError(ContainSubstring("invalid_client")))

		id, oldSecret := credential(ctx, "aurora-acme-prod", "rotating", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		mc := &iamv1alpha1.MachineCredential{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "aurora-acme-prod", Name: "rotating"}, mc)).To(Succeed())
		mc.Spec.RotationRequest = "now"
		Expect(k8sClient.Update(ctx, mc)).To(Succeed())
		var newSecret string
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "aurora-acme-prod", Name: "rotating-client-secret"}, s)).To(Succeed())
			newSecret = string(s.Data[machinecredential.ClientSecretKey])
			g.Expect(newSecret).NotTo(Equal(oldSecret))
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
			g.Expect(mc.Status.SecretHashes).To(HaveLen(2))
		}).WithContext(ctx).Should(Succeed())
		for _, s := range []string{oldSecret, newSecret} {
			_, err = clientCredentials(id, s, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
			Expect(err).NotTo(HaveOccurred(), "both secrets work during the grace period")
		}
	})

	It("confines a credential to its tenant", func(ctx SpecContext) {
		acmeID, acmeSecret := credential(ctx, "aurora-acme-prod", "isolated", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull})
		globexID, globexSecret := credential(ctx, "aurora-globex-prod", "isolated", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull})
		Expect(acmeID).NotTo(Equal(globexID))

		tok, err := clientCredentials(acmeID, acmeSecret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		claims, err := ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Principal.Namespace()).To(Equal("aurora-acme-prod"))
		Expect(verify.RequireTenant(claims, "acme", "prod")).To(Succeed())
		Expect(verify.RequireTenant(claims, "globex", "prod")).To(MatchError(verify.ErrWrongTenant))

		By("mixing one tenant's client id with the other's secret")
		for _, pair := range [][2]string{{acmeID, globexSecret}, {globexID, acmeSecret}} {
			_, err := clientCredentials(pair[0], pair[1], oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
			Expect(err).To(MatchError(ContainSubstring("invalid_client")))
		}

		By("a credential outside any tenant namespace gets no token")
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "no-tenant"}})).To(Succeed())
		id, secret := credential(ctx, "no-tenant", "stray", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull})
		_, err = clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).To(MatchError(ContainSubstring("invalid_client")))
	})

	It("locks a client out after repeated failures, even with the right secret", func(ctx SpecContext) {
		id, secret := credential(ctx, "aurora-acme-prod", "brute-forced", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		for range clientFailureBurst {
			code, _, _ := postToken(ctx, url.Values{"grant_type": {"client_credentials"}}, id, "aur_guess")
			Expect(code).To(Equal(http.StatusUnauthorized))
		}
		code, body, _ := postToken(ctx, url.Values{"grant_type": {"client_credentials"}}, id, secret)
		Expect(code).To(Equal(http.StatusTooManyRequests))
		Expect(body).To(HaveKeyWithValue("error", "slow_down"))

		other, otherSecret := credential(ctx, "aurora-acme-prod", "bystander", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		code, _, _ = postToken(ctx, url.Values{"grant_type": {"client_credentials"}}, other, otherSecret)
		Expect(code).To(Equal(http.StatusOK), "other clients are not locked out")
	})

	It("keeps tokens signed before a key rotation valid until they expire", func(ctx SpecContext) {
		id, secret := credential(ctx, "aurora-acme-prod", "rotation-witness", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		before, err := clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		Expect(server.RotateKeys(ctx)).To(Succeed())
		after, err := clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		Expect(kid(after.AccessToken)).NotTo(Equal(kid(before.AccessToken)), "new tokens use the new key")

		v := ourVerifier(ctx, "aurora")
		for _, tok := range []*oauth2.Token{before, after} {
			_, err := v.Verify(ctx, tok.AccessToken)
			Expect(err).NotTo(HaveOccurred())
		}
		provider, err := oidc.NewProvider(oidc.ClientContext(ctx, httpClient), issuer)
		Expect(err).NotTo(HaveOccurred())
		_, err = provider.Verifier(&oidc.Config{ClientID: "aurora"}).Verify(oidc.ClientContext(ctx, httpClient), before.AccessToken)
		Expect(err).NotTo(HaveOccurred(), "go-oidc still verifies a token of the retired key")
	})

	It("refuses forged and misused tokens", func(ctx SpecContext) {
		id, secret := credential(ctx, "aurora-acme-prod", "forgery-witness", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		tok, err := clientCredentials(id, secret, oauth2.AuthStyleInHeader).Token(oauthContext(ctx))
		Expect(err).NotTo(HaveOccurred())
		parts := strings.Split(tok.AccessToken, ".")
		Expect(parts).To(HaveLen(3))
		v := ourVerifier(ctx, "aurora")

		tamperedPayload := parts[0] + "." + reencode(parts[1], func(c map[string]any) {
			c["principal"].(map[string]any)["organization"] = "globex"
		}) + "." + parts[2]
		algNone := reencode(parts[0], func(h map[string]any) { h["alg"] = "none" }) + "." + parts[1] + "."
		unknownKey := reencode(parts[0], func(h map[string]any) { h["kid"] = "not-a-key-of-this-issuer" }) + "." + parts[1] + "." + parts[2]
		badSignature := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		for name, forged := range map[string]string{"tampered payload": tamperedPayload, "alg none": algNone, "unknown key": unknownKey, "bad signature": badSignature} {
			_, err := v.Verify(ctx, forged)
			Expect(err).To(MatchError(verify.ErrInvalidToken), name)
			Expect(err.Error()).NotTo(ContainSubstring(parts[2]), name)
		}

		_, err = ourVerifier(ctx, "aurora-console").Verify(ctx, tok.AccessToken)
		Expect(err).To(MatchError(verify.ErrInvalidAudience))

		late, err := verify.NewVerifier(ctx, verify.Options{IssuerURL: issuer, Audience: "aurora", HTTPClient: httpClient,
			Now: func() time.Time { return time.Now().Add(tokenLifetime + time.Minute) }})
		Expect(err).NotTo(HaveOccurred())
		_, err = late.Verify(ctx, tok.AccessToken)
		Expect(err).To(MatchError(verify.ErrExpired))
	})

	It("keeps the signing keys sealed: no plaintext in the Secret, the same keys after a restart, a clear error with a wrong master key", func(ctx SpecContext) {
		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: keysNamespace, Name: keysSecret}, s)).To(Succeed())
		for k, v := range s.Data {
			text := string(v)
			Expect(text).NotTo(ContainSubstring("PRIVATE KEY"), k)
			Expect(text).NotTo(MatchRegexp(`"d"\s*:`), k)
		}

		restarted, err := newServer(ctx, masterKey)
		Expect(err).NotTo(HaveOccurred(), "a restart with the same master key reads the keys back")
		Expect(restarted).NotTo(BeNil())

		wrong := make([]byte, len(masterKey))
		copy(wrong, masterKey)
		wrong[0] ^= 0xff
		_, err = newServer(ctx, wrong)
		Expect(err).To(MatchError(ContainSubstring("master key")))
		Expect(err.Error()).NotTo(ContainSubstring(string(wrong)))
	})

	It("refuses clients older than TLS 1.2", func(ctx SpecContext) {
		cfg := httpClient.Transport.(*http.Transport).TLSClientConfig.Clone()
		cfg.MinVersion, cfg.MaxVersion = 0, 0x0302 // TLS 1.1
		old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		_, err := old.Get(issuer + "/.well-known/openid-configuration")
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(Or(ContainSubstring("protocol version"), ContainSubstring("tls")))
	})

	It("reports every credential it issued for as Ready", func(ctx SpecContext) {
		list := &iamv1alpha1.MachineCredentialList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace("aurora-acme-prod"))).To(Succeed())
		Expect(list.Items).NotTo(BeEmpty())
		for _, mc := range list.Items {
			if mc.Spec.ExpiresAt != nil {
				continue
			}
			Expect(apimeta.IsStatusConditionTrue(mc.Status.Conditions, meta.ReadyCondition)).To(BeTrue(), mc.Name)
		}
	})
})

// newServer builds a second auth server (a restart or another replica) with a master key.
func newServer(ctx context.Context, key []byte) (*auth.Server, error) {
	return auth.NewServer(ctx, serverConfig(key))
}

// kid returns the key id in a token's header.
func kid(token string) string {
	GinkgoHelper()
	header := decodeSegment(strings.Split(token, ".")[0])
	return header["kid"].(string)
}
