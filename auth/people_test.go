package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/auth/users"
)

const password = "correct horse battery staple"

// janeSpec is a deployer in acme's prod and a tenant admin in acme's staging.
var janeSpec = iamv1alpha1.UserSpec{Organization: "acme", DisplayName: "Jane Doe", Email: "jane@acme.example",
	Tenants: []iamv1alpha1.TenantRoles{{Environment: "prod", Roles: []string{"deployer"}}, {Environment: "staging", Roles: []string{"tenant-admin", "release-manager"}}}}

// deviceLogin plays the person of the device flow: opens verification_uri_complete, logs in.
func deviceLogin(ctx context.Context, person *http.Client, verificationURI, username, pw string) (int, string) {
	GinkgoHelper()
	code, body, _ := browse(ctx, person, verificationURI)
	Expect(code).To(Equal(http.StatusOK))
	forms := formsOf(body) // the password form first, then any upstream identity providers
	Expect(forms).NotTo(BeEmpty())
	Expect(forms[0].fields).To(HaveKey("password"))
	code, body, _ = submit(ctx, person, forms[0], map[string]string{"username": username, "password": pw})
	return code, body
}

// consoleLogin plays the person of the Console's login: opens the authorization URL, logs in, and
// returns the redirect back to the Console.
func consoleLogin(ctx context.Context, person *http.Client, authURL, username, pw string) (int, *url.URL) {
	GinkgoHelper()
	code, body, _ := browse(ctx, person, authURL)
	Expect(code).To(Equal(http.StatusOK), "%s", body)
	code, body, resp := submit(ctx, person, onlyForm(body), map[string]string{"username": username, "password": pw})
	if code != http.StatusSeeOther {
		return code, nil
	}
	loc := must(url.Parse(resp.Header.Get("Location")))
	Expect(body).NotTo(ContainSubstring(pw))
	return code, loc
}

var _ = Describe("People", func() {
	It("publishes the people's endpoints in the discovery document", func(ctx SpecContext) {
		provider := must(oidc.NewProvider(oidc.ClientContext(ctx, httpClient), issuer))
		var doc map[string]any
		Expect(provider.Claims(&doc)).To(Succeed())
		Expect(doc).To(HaveKeyWithValue("authorization_endpoint", issuer+"/oauth/authorize"))
		Expect(doc).To(HaveKeyWithValue("device_authorization_endpoint", issuer+"/oauth/device/code"))
		Expect(doc).To(HaveKeyWithValue("revocation_endpoint", issuer+"/oauth/revoke"))
		Expect(doc).To(HaveKeyWithValue("code_challenge_methods_supported", ConsistOf("S256")))
		Expect(doc).To(HaveKeyWithValue("grant_types_supported", ContainElements("authorization_code", "refresh_token",
			"urn:ietf:params:oauth:grant-type:device_code", "client_credentials")))
		Expect(doc).To(HaveKeyWithValue("response_types_supported", ConsistOf("code")))
	})

	It("logs a person in with the device flow: the CLI polls with golang.org/x/oauth2, the person logs in on /device", func(ctx SpecContext) {
		newUser(ctx, keysNamespace, "jane", password, janeSpec)
		cli := cliConfig(issuer)
		octx := oauthContext(ctx)
		da, err := cli.DeviceAuth(octx)
		Expect(err).NotTo(HaveOccurred())
		Expect(da.UserCode).To(MatchRegexp(`^[B-Z]{4}-[B-Z]{4}$`))
		Expect(da.VerificationURI).To(Equal(issuer + "/device"))
		Expect(da.VerificationURIComplete).To(Equal(issuer + "/device?user_code=" + da.UserCode))
		Expect(da.Interval).To(BeEquivalentTo(1))

		type result struct {
			tok *oauth2.Token
			err error
		}
		done := make(chan result, 1)
		go func() {
			tok, err := cli.DeviceAccessToken(octx, da)
			done <- result{tok, err}
		}()
		time.Sleep(1500 * time.Millisecond) // the CLI polls (authorization_pending) while the person logs in
		person := newPerson()
		_, page, _ := browse(ctx, person, da.VerificationURIComplete)
		for _, id := range []string{"user_code", "username", "password"} {
			Expect(page).To(ContainSubstring(`<label for="` + id + `">`))
		}
		Expect(page).To(ContainSubstring(`<button type="submit">Log in</button>`))
		code, body := deviceLogin(ctx, person, da.VerificationURIComplete, "jane", password)
		Expect(code).To(Equal(http.StatusOK), "%s", body)
		Expect(body).To(ContainSubstring("You are logged in as jane"))

		var res result
		Eventually(done).WithTimeout(30 * time.Second).Should(Receive(&res))
		Expect(res.err).NotTo(HaveOccurred())
		Expect(res.tok.RefreshToken).To(HavePrefix("aur_rt_"))
		claims, err := ourVerifier(ctx, "aurora").Verify(ctx, res.tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Subject).To(Equal("jane"))
		Expect(claims.Principal).To(Equal(principal.Principal{Type: principal.User, Name: "jane", Organization: "acme",
			Environment: "prod", Roles: []string{"deployer"}, Scopes: []string{"api:deployment:full"}, Tenants: []string{"prod", "staging"}}))
		Expect(claims.Principal.HasScope(iamv1alpha1.ScopeDeploymentFull)).To(BeTrue())
		Expect(claims.Principal.HasScope(iamv1alpha1.ScopeTenantFull)).To(BeFalse())

		By("using the device code once only")
		code2, errBody, _ := postToken(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode}, "client_id": {"aurora-cli"}}, "", "")
		Expect(code2).To(Equal(http.StatusBadRequest))
		Expect(errBody).To(HaveKeyWithValue("error", "invalid_grant"))
	})

	It("does not let wrong secrets sent for a public client lock people out", func(ctx SpecContext) {
		for range 12 {
			code, body, _ := postToken(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
				"device_code": {"nothing"}, "client_id": {"aurora-cli"}, "client_secret": {"guess"}}, "", "")
			Expect(code).To(Equal(http.StatusUnauthorized))
			Expect(body).To(HaveKeyWithValue("error", "invalid_client"))
		}
		By("a device login of the public client still starts and is polled")
		da := must(cliConfig(issuer).DeviceAuth(oauthContext(ctx)))
		_, body, _ := postToken(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode}, "client_id": {"aurora-cli"}}, "", "")
		Expect(body).To(HaveKeyWithValue("error", "authorization_pending"))
	})

	It("answers a device's polls with authorization_pending, slow_down, expired_token and access_denied", func(ctx SpecContext) {
		poll := func(deviceCode string) string {
			_, body, _ := postToken(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
				"device_code": {deviceCode}, "client_id": {"aurora-cli"}}, "", "")
			return body["error"].(string)
		}
		cli := cliConfig(issuer)
		da := must(cli.DeviceAuth(oauthContext(ctx)))
		Expect(poll(da.DeviceCode)).To(Equal("authorization_pending"))
		Expect(poll(da.DeviceCode)).To(Equal("slow_down"), "a second poll within the interval")
		time.Sleep(6100 * time.Millisecond) // the interval grew by 5 s
		Expect(poll(da.DeviceCode)).To(Equal("authorization_pending"))

		By("expiring the code: its grant says so (as time passing would)")
		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: keysNamespace, Name: grantSecretName("device", da.DeviceCode)}, s)).To(Succeed())
		Expect(string(s.Data["grant"])).NotTo(ContainSubstring(da.DeviceCode), "only the hash names the grant")
		s.Data["expiresAt"] = []byte(time.Now().Add(-time.Second).UTC().Format(time.RFC3339))
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
		Expect(poll(da.DeviceCode)).To(Equal("expired_token"))
		person := newPerson()
		code, body := deviceLogin(ctx, person, da.VerificationURIComplete, "jane", password)
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(ContainSubstring("not valid or has expired"))

		By("denying a person who may use no tenant")
		newUser(ctx, keysNamespace, "tenantless", password, iamv1alpha1.UserSpec{Organization: "acme"})
		da = must(cli.DeviceAuth(oauthContext(ctx)))
		code, body = deviceLogin(ctx, newPerson(), da.VerificationURIComplete, "tenantless", password)
		Expect(code).To(Equal(http.StatusForbidden), "%s", body)
		_, err := cli.DeviceAccessToken(oauthContext(ctx), da)
		Expect(oauthError(err)).To(Equal("access_denied"))

		Expect(poll("aur_dc_nosuchcode")).To(Equal("invalid_grant"))
		_, body2, _ := postToken(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode}, "client_id": {"aurora-console"}}, "", "")
		Expect(body2).To(HaveKeyWithValue("error", "invalid_grant"), "another client's device code")
	})

	It("logs a person in to the Console with authorization code and PKCE, once, bound to client, redirect URI and verifier", func(ctx SpecContext) {
		newUser(ctx, keysNamespace, "jane", password, janeSpec)
		console := consoleConfig(issuer, "openid", "email")
		octx := oauthContext(ctx)
		login := func() (code, verifier string) {
			verifier = oauth2.GenerateVerifier()
			authURL := console.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-9"))
			status, loc := consoleLogin(ctx, newPerson(), authURL, "jane", password)
			Expect(status).To(Equal(http.StatusSeeOther))
			Expect(loc.Scheme + "://" + loc.Host + loc.Path).To(Equal(consoleRedirectURI))
			Expect(loc.Query().Get("state")).To(Equal("state-123"))
			Expect(loc.Query().Get("iss")).To(Equal(issuer))
			return loc.Query().Get("code"), verifier
		}

		code, verifier := login()
		tok, err := console.Exchange(octx, code, oauth2.VerifierOption(verifier))
		Expect(err).NotTo(HaveOccurred())
		claims, err := ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Principal.Name).To(Equal("jane"))
		Expect(claims.Principal.Environment).To(Equal("prod"))

		By("issuing an ID token that go-oidc verifies, with the nonce")
		provider := must(oidc.NewProvider(oidc.ClientContext(ctx, httpClient), issuer))
		idt, err := provider.Verifier(&oidc.Config{ClientID: "aurora-console"}).Verify(oidc.ClientContext(ctx, httpClient), tok.Extra("id_token").(string))
		Expect(err).NotTo(HaveOccurred())
		Expect(idt.Nonce).To(Equal("nonce-9"))
		var idClaims map[string]any
		Expect(idt.Claims(&idClaims)).To(Succeed())
		Expect(idClaims).To(HaveKeyWithValue("email", "jane@acme.example"))
		Expect(idClaims).To(HaveKeyWithValue("groups", ConsistOf("prod:deployer", "staging:tenant-admin", "staging:release-manager")))
		_, err = ourVerifier(ctx, "aurora-console").Verify(ctx, tok.Extra("id_token").(string))
		Expect(err).To(HaveOccurred(), "an ID token is no access token")

		By("refusing the same code twice")
		_, err = console.Exchange(octx, code, oauth2.VerifierOption(verifier))
		Expect(oauthError(err)).To(Equal("invalid_grant"))

		By("refusing a wrong verifier (and spending the code)")
		code, verifier = login()
		_, err = console.Exchange(octx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		Expect(oauthError(err)).To(Equal("invalid_grant"))
		_, err = console.Exchange(octx, code, oauth2.VerifierOption(verifier))
		Expect(oauthError(err)).To(Equal("invalid_grant"))

		By("refusing a missing verifier")
		code, _ = login()
		_, err = console.Exchange(octx, code)
		Expect(oauthError(err)).To(Equal("invalid_grant"))

		By("refusing another redirect URI")
		code, verifier = login()
		other := *console
		other.RedirectURL = consoleRedirectURI + "/other"
		_, err = other.Exchange(octx, code, oauth2.VerifierOption(verifier))
		Expect(oauthError(err)).To(Equal("invalid_grant"))

		By("refusing another client")
		code, verifier = login()
		_, body, _ := postToken(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {consoleRedirectURI},
			"code_verifier": {verifier}, "client_id": {"aurora-cli"}}, "", "")
		Expect(body).To(HaveKeyWithValue("error", "invalid_grant"))

		By("refusing an unregistered redirect URI at the authorization endpoint, without redirecting")
		status, page, resp := browse(ctx, newPerson(), strings.Replace(other.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "aurora-console", "aurora-console", 1))
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(resp.Header.Get("Location")).To(BeEmpty())
		Expect(page).To(ContainSubstring("redirect_uri is not registered"))

		By("starting in the tenant asked for, and refusing one the person may not use")
		verifier = oauth2.GenerateVerifier()
		_, loc := consoleLogin(ctx, newPerson(), console.AuthCodeURL("t", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("tenant", "staging")), "jane", password)
		tok = must(console.Exchange(octx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)))
		Expect(must(ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)).Principal.Environment).To(Equal("staging"))
		_, loc = consoleLogin(ctx, newPerson(), console.AuthCodeURL("t", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("tenant", "qa")), "jane", password)
		Expect(loc.Query().Get("error")).To(Equal("access_denied"))
		Expect(loc.Query().Get("code")).To(BeEmpty())

		By("sending a request without PKCE back with invalid_request")
		noPKCE := console.AuthCodeURL("s2")
		status, _, resp = browse(ctx, newPerson(), noPKCE)
		Expect(status).To(Equal(http.StatusSeeOther))
		loc = must(url.Parse(resp.Header.Get("Location")))
		Expect(loc.Query().Get("error")).To(Equal("invalid_request"))
		Expect(loc.Query().Get("state")).To(Equal("s2"))
	})

	It("refreshes a token, rotating the refresh token, switching to another tenant of the person, refusing others", func(ctx SpecContext) {
		newUser(ctx, keysNamespace, "jane", password, janeSpec)
		console := consoleConfig(issuer)
		verifier := oauth2.GenerateVerifier()
		_, loc := consoleLogin(ctx, newPerson(), console.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "jane", password)
		tok := must(console.Exchange(oauthContext(ctx), loc.Query().Get("code"), oauth2.VerifierOption(verifier)))

		refresh := func(rt, tenant string) (int, map[string]any) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"aurora-console"}}
			if tenant != "" {
				form.Set("tenant", tenant)
			}
			code, body, _ := postToken(ctx, form, "", "")
			return code, body
		}
		By("refusing a tenant the person may not use, without spending the refresh token")
		code, body := refresh(tok.RefreshToken, "globex")
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_grant"))
		Expect(body["error_description"]).To(ContainSubstring(`"globex" is not among prod, staging`))

		By("switching to staging, where jane is a tenant admin")
		code, body = refresh(tok.RefreshToken, "staging")
		Expect(code).To(Equal(http.StatusOK), "%v", body)
		claims, err := ourVerifier(ctx, "aurora").Verify(ctx, body["access_token"].(string))
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Principal.Environment).To(Equal("staging"))
		Expect(claims.Principal.Namespace()).To(Equal("aurora-acme-staging"))
		Expect(claims.Principal.Roles).To(Equal([]string{"tenant-admin", "release-manager"}))
		Expect(claims.Principal.Scopes).To(Equal([]string{"api:tenant:full"}))
		next := body["refresh_token"].(string)
		Expect(next).NotTo(Equal(tok.RefreshToken))

		By("keeping the spent refresh token, only to recognise its reuse")
		spent := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: keysNamespace, Name: refreshSecretName(tok.RefreshToken)}, spent)).To(Succeed())
		login := spent.Labels["auth.aurora.dev/family"]
		Expect(login).NotTo(BeEmpty())
		Expect(string(spent.Data["grant"])).To(ContainSubstring(`"spentAt"`))

		By("refusing the spent refresh token used again at once (two commands racing), without revoking the login")
		code, body = refresh(tok.RefreshToken, "")
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_grant"))
		Expect(body["error_description"]).To(ContainSubstring("a moment ago"))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(spent), spent)).To(Succeed())

		By("refusing the spent refresh token when it comes back later, and revoking every token of its login: a copy is in other hands")
		serverClockAhead.Store(int64(time.Minute))
		code, body = refresh(tok.RefreshToken, "")
		serverClockAhead.Store(0)
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_grant"))
		Expect(body["error_description"]).To(ContainSubstring("already used"))
		code, body = refresh(next, "")
		Expect(code).To(Equal(http.StatusBadRequest), "the successor of a reused token is revoked too")
		Expect(body).To(HaveKeyWithValue("error", "invalid_grant"))
		family := &corev1.SecretList{}
		Expect(k8sClient.List(ctx, family, client.InNamespace(keysNamespace), client.MatchingLabels{"auth.aurora.dev/family": login})).To(Succeed())
		Expect(family.Items).To(BeEmpty(), "no refresh token of the login is left")

		By("a new login, switched to staging")
		_, loc = consoleLogin(ctx, newPerson(), console.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "jane", password)
		tok = must(console.Exchange(oauthContext(ctx), loc.Query().Get("code"), oauth2.VerifierOption(verifier)))
		code, body = refresh(tok.RefreshToken, "staging")
		Expect(code).To(Equal(http.StatusOK), "%v", body)
		next = body["refresh_token"].(string)

		By("keeping the tenant in the rotated token, and reading the person's roles again")
		jane := &iamv1alpha1.User{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "jane"}, jane)).To(Succeed())
		jane.Spec.Tenants[1].Roles = []string{"deployer"}
		Expect(k8sClient.Update(ctx, jane)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { newUser(ctx, keysNamespace, "jane", password, janeSpec) })
		code, body = refresh(next, "")
		Expect(code).To(Equal(http.StatusOK))
		claims = must(ourVerifier(ctx, "aurora").Verify(ctx, body["access_token"].(string)))
		Expect(claims.Principal.Environment).To(Equal("staging"))
		Expect(claims.Principal.Scopes).To(Equal([]string{"api:deployment:full"}))

		By("revoking a refresh token (RFC 7009)")
		next = body["refresh_token"].(string)
		req := must(http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth/revoke",
			strings.NewReader(url.Values{"token": {next}, "client_id": {"aurora-console"}}.Encode())))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp := must(httpClient.Do(req))
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		code, _ = refresh(next, "")
		Expect(code).To(Equal(http.StatusBadRequest))

		By("refusing a disabled user's refresh")
		_, loc = consoleLogin(ctx, newPerson(), console.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "jane", password)
		tok = must(console.Exchange(oauthContext(ctx), loc.Query().Get("code"), oauth2.VerifierOption(verifier)))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "jane"}, jane)).To(Succeed())
		jane.Spec.Disabled = true
		Expect(k8sClient.Update(ctx, jane)).To(Succeed())
		code, body = refresh(tok.RefreshToken, "")
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(HaveKeyWithValue("error", "invalid_grant"))
	})

	It("shares device codes, authorization codes and refresh tokens between replicas", func(ctx SpecContext) {
		newUser(ctx, keysNamespace, "jane", password, janeSpec)
		l, replica2 := listenForIssuer()
		startAuthServer(ctx, l, replica2, keysNamespace, serverConfig(masterKey).People) // same namespace, same keys

		By("starting a device flow on one replica, logging in on the other, polling the first")
		cli := cliConfig(issuer)
		da := must(cli.DeviceAuth(oauthContext(ctx)))
		code, body := deviceLogin(ctx, newPerson(), strings.Replace(da.VerificationURIComplete, issuer, replica2, 1), "jane", password)
		Expect(code).To(Equal(http.StatusOK), "%s", body)
		tok := must(cli.DeviceAccessToken(oauthContext(ctx), da))
		Expect(must(ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken)).Principal.Name).To(Equal("jane"))

		By("refreshing on the other replica")
		code, refreshed, _ := postTokenTo(ctx, replica2, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"aurora-cli"}})
		Expect(code).To(Equal(http.StatusOK), "%v", refreshed)

		By("exchanging one authorization code on both replicas at once: exactly one wins")
		verifier := oauth2.GenerateVerifier()
		_, loc := consoleLogin(ctx, newPerson(), consoleConfig(replica2).AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "jane", password)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {consoleRedirectURI},
			"code_verifier": {verifier}, "client_id": {"aurora-console"}}
		codes := make(chan int, 2)
		for _, iss := range []string{issuer, replica2} {
			go func() {
				defer GinkgoRecover()
				code, _, _ := postTokenTo(ctx, iss, form)
				codes <- code
			}()
		}
		Expect([]int{<-codes, <-codes}).To(ConsistOf(http.StatusOK, http.StatusBadRequest))
	})

	It("answers a wrong password exactly as an unknown user, and never stores the password", func(ctx SpecContext) {
		newUser(ctx, keysNamespace, "sam", password, iamv1alpha1.UserSpec{Organization: "acme",
			Tenants: []iamv1alpha1.TenantRoles{{Environment: "prod", Roles: []string{"deployer"}}}})
		authURL := consoleConfig(issuer).AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		person := newPerson()
		_, page, _ := browse(ctx, person, authURL)
		f := onlyForm(page)
		wrongCode, wrongBody, _ := submit(ctx, person, f, map[string]string{"username": "sam", "password": "not the password!"})
		unknownCode, unknownBody, _ := submit(ctx, person, f, map[string]string{"username": "nobody-here", "password": "not the password!"})
		Expect(wrongCode).To(Equal(http.StatusUnauthorized))
		Expect(unknownCode).To(Equal(wrongCode))
		Expect(unknownBody).To(Equal(wrongBody))
		invalidCode, invalidBody, _ := submit(ctx, person, f, map[string]string{"username": "Not A Login", "password": "not the password!"})
		Expect(invalidCode).To(Equal(wrongCode))
		Expect(invalidBody).To(Equal(wrongBody), "a name no User can have")
		Expect(wrongBody).To(ContainSubstring("Wrong username or password."))

		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: keysNamespace, Name: "aurora-user-sam"}, s)).To(Succeed())
		Expect(string(s.Data["passwordHash"])).To(HavePrefix("$argon2id$v=19$"))
		Expect(string(s.Data["passwordHash"])).NotTo(ContainSubstring(password))
		u := &iamv1alpha1.User{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "sam"}, u)).To(Succeed())
		Expect(s.OwnerReferences).To(ContainElement(HaveField("UID", u.UID)), "the Secret goes with its User")
	})

	It("refuses a login form posted without its CSRF token", func(ctx SpecContext) {
		authURL := consoleConfig(issuer).AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		person := newPerson()
		_, page, _ := browse(ctx, person, authURL)
		code, body, _ := submit(ctx, person, onlyForm(page), map[string]string{"username": "jane", "password": password, "csrf_token": "forged-forged-forged-forged-forged-forged"})
		Expect(code).To(Equal(http.StatusForbidden))
		Expect(body).To(ContainSubstring("did not come from this site"))
		code, _, _ = submit(ctx, newPerson(), onlyForm(page), map[string]string{"username": "jane", "password": password})
		Expect(code).To(Equal(http.StatusForbidden), "a browser without the cookie")
	})

	It("locks a user out after repeated failed logins, even with the right password", func(ctx SpecContext) {
		newUser(ctx, keysNamespace, "guessed", password, iamv1alpha1.UserSpec{Organization: "acme",
			Tenants: []iamv1alpha1.TenantRoles{{Environment: "prod"}}})
		da := must(cliConfig(issuer).DeviceAuth(oauthContext(ctx)))
		person := newPerson()
		for range clientFailureBurst {
			code, _ := deviceLogin(ctx, person, da.VerificationURIComplete, "guessed", "wrong password!")
			Expect(code).To(Equal(http.StatusUnauthorized))
		}
		code, body := deviceLogin(ctx, person, da.VerificationURIComplete, "guessed", password)
		Expect(code).To(Equal(http.StatusTooManyRequests))
		Expect(body).To(ContainSubstring("Too many failed attempts"))
	})

	It("bootstraps an organization admin on a fresh install, writing the generated password once", func(ctx SpecContext) {
		cfg := serverConfig(masterKey)
		cfg.People.BootstrapOrganization, cfg.People.BootstrapAdmin = "acme", "acme-admin"
		_, err := auth.NewServer(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: keysNamespace, Name: users.BootstrapSecretName}, s)).To(Succeed())
		Expect(string(s.Data["username"])).To(Equal("acme-admin"))
		pw := string(s.Data["password"])
		Expect(len(pw)).To(BeNumerically(">=", 32))
		admin := &iamv1alpha1.User{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "acme-admin"}, admin)).To(Succeed())
		Expect(admin.Spec.OrganizationAdmin).To(BeTrue())

		By("leaving the admin alone on the next start")
		_, err = auth.NewServer(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		again := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), again)).To(Succeed())
		Expect(string(again.Data["password"])).To(Equal(pw))

		By("logging in with it: every tenant of the organization, api:organization:full")
		cli := cliConfig(issuer)
		da := must(cli.DeviceAuth(oauthContext(ctx)))
		code, body := deviceLogin(ctx, newPerson(), da.VerificationURIComplete, "acme-admin", pw)
		Expect(code).To(Equal(http.StatusOK), "%s", body)
		tok := must(cli.DeviceAccessToken(oauthContext(ctx), da))
		claims := must(ourVerifier(ctx, "aurora").Verify(ctx, tok.AccessToken))
		Expect(claims.Principal.Organization).To(Equal("acme"))
		Expect(claims.Principal.Tenants).To(Equal([]string{"prod", "staging"}))
		Expect(claims.Principal.Environment).To(Equal("prod"))
		Expect(claims.Principal.Roles).To(Equal([]string{"organization-admin"}))
		Expect(claims.Principal.Scopes).To(Equal([]string{"api:organization:full"}))
	})
})

// refreshSecretName is the name of the Secret that keeps a refresh token: its SHA-256, never the
// token.
func refreshSecretName(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "aurora-refresh-" + hex.EncodeToString(sum[:])[:48]
}
