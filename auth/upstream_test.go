package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/verify"
)

// listenForIssuer opens a listener for another auth service and returns its issuer URL.
func listenForIssuer() (net.Listener, string) {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	return l, fmt.Sprintf("https://127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}

// startAuthServer runs another auth service on the test cluster, with its own namespace, issuer and
// people's configuration.
func startAuthServer(ctx context.Context, l net.Listener, iss, namespace string, people auth.PeopleConfig) {
	GinkgoHelper()
	Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}))).To(Succeed())
	cfg := serverConfig(masterKey)
	cfg.Issuer, cfg.KeysNamespace, cfg.People = iss, namespace, people
	srv, err := auth.NewServer(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	startInBackground(func(ctx context.Context) error { return srv.Serve(ctx, l) })
	Eventually(func() error {
		resp, err := httpClient.Get(iss + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}).WithContext(ctx).Should(Succeed())
}

var _ = Describe("Upstream identity provider", Ordered, func() {
	// The organization acme logs in through its own OIDC provider: here another `aurora auth`, whose
	// directory knows carol (the service under test keeps no password of hers).
	var upstreamIssuer, downstreamIssuer string
	const clientSecret = "acme-sso-client-secret-0123456789"

	BeforeAll(func(ctx SpecContext) {
		upL, upIss := listenForIssuer()
		downL, downIss := listenForIssuer()
		upstreamIssuer, downstreamIssuer = upIss, downIss
		startAuthServer(ctx, upL, upIss, "idp-upstream", auth.PeopleConfig{OIDCClients: []auth.OIDCClient{{ID: "acme-aurora",
			Secret: clientSecret, RedirectURIs: []string{downIss + "/oauth/upstream/callback"}}}})
		startAuthServer(ctx, downL, downIss, "idp-downstream", auth.PeopleConfig{ConsoleRedirectURIs: []string{consoleRedirectURI},
			DevicePollInterval: time.Second, UpstreamHTTPClient: httpClient, Upstreams: []auth.UpstreamIdP{{Organization: "acme",
				DisplayName: "ACME SSO", Issuer: upIss, ClientID: "acme-aurora", ClientSecret: clientSecret, RolesClaim: "groups"}}})
		newUser(ctx, "idp-upstream", "carol", password, iamv1alpha1.UserSpec{Organization: "corp", DisplayName: "Carol",
			Email: "carol@corp.example", Tenants: []iamv1alpha1.TenantRoles{
				{Environment: "prod", Roles: []string{"deployer", "release-manager"}}, {Environment: "staging", Roles: []string{"tenant-admin"}}}})
	}, NodeTimeout(3*time.Minute))

	downstreamVerifier := func(ctx context.Context) *verify.Verifier {
		GinkgoHelper()
		return must(verify.NewVerifier(ctx, verify.Options{IssuerURL: downstreamIssuer, Audience: "aurora", HTTPClient: httpClient}))
	}

	// upstreamLogin follows the button to the upstream provider and logs in there; it returns the
	// last answer (the downstream's, after the callback).
	upstreamLogin := func(ctx context.Context, person *http.Client, page string) (int, string, *http.Response) {
		GinkgoHelper()
		button := onlyForm(page)
		Expect(button.action).To(Equal(downstreamIssuer + "/oauth/upstream/start"))
		Expect(button.fields).NotTo(HaveKey("password"), "the upstream is offered instead of the password fields")
		code, body, resp := submit(ctx, person, button, nil)
		Expect(code).To(Equal(http.StatusOK), "%s", body)
		Expect(resp.Request.URL.String()).To(HavePrefix(upstreamIssuer+"/oauth/authorize?"), "the person is at the upstream's login page")
		Expect(resp.Request.URL.Query().Get("code_challenge_method")).To(Equal("S256"))
		return submit(ctx, person, onlyForm(body), map[string]string{"username": "carol", "password": password})
	}

	It("logs a person in to the Console through the organization's provider and maps their groups to roles", func(ctx SpecContext) {
		console := consoleConfig(downstreamIssuer)
		verifier := oauth2.GenerateVerifier()
		person := newPerson()
		code, page, _ := browse(ctx, person, console.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("organization", "acme")))
		Expect(code).To(Equal(http.StatusOK))
		Expect(page).To(ContainSubstring("Log in with ACME SSO"))
		code, body, resp := upstreamLogin(ctx, person, page)
		Expect(code).To(Equal(http.StatusSeeOther), "%s", body)
		loc := must(url.Parse(resp.Header.Get("Location")))
		Expect(loc.Query().Get("state")).To(Equal("st-1"))
		Expect(loc.Query().Get("iss")).To(Equal(downstreamIssuer))

		tok, err := console.Exchange(oauthContext(ctx), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		Expect(err).NotTo(HaveOccurred())
		claims, err := downstreamVerifier(ctx).Verify(ctx, tok.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Principal.Name).To(Equal("carol@corp.example"))
		Expect(claims.Principal.Organization).To(Equal("acme"), "the organization is the one whose provider vouched")
		Expect(claims.Principal.Environment).To(Equal("prod"))
		Expect(claims.Principal.Roles).To(Equal([]string{"deployer", "release-manager"}))
		Expect(claims.Principal.Scopes).To(Equal([]string{"api:deployment:full"}))
		Expect(claims.Principal.Tenants).To(Equal([]string{"prod", "staging"}))

		By("refreshing into the other tenant the provider named")
		code, tokBody, _ := postTokenTo(ctx, downstreamIssuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {"aurora-console"}, "tenant": {"staging"}})
		Expect(code).To(Equal(http.StatusOK), "%v", tokBody)
		claims = must(downstreamVerifier(ctx).Verify(ctx, tokBody["access_token"].(string)))
		Expect(claims.Principal.Environment).To(Equal("staging"))
		Expect(claims.Principal.Scopes).To(Equal([]string{"api:tenant:full"}))
	})

	It("logs a device in through the organization's provider", func(ctx SpecContext) {
		cli := cliConfig(downstreamIssuer)
		da := must(cli.DeviceAuth(oauthContext(ctx)))
		person := newPerson()
		code, page, _ := browse(ctx, person, da.VerificationURIComplete+"&organization=acme")
		Expect(code).To(Equal(http.StatusOK))
		Expect(onlyForm(page).fields.Get("user_code")).To(Equal(da.UserCode))
		code, body, _ := upstreamLogin(ctx, person, page)
		Expect(code).To(Equal(http.StatusOK), "%s", body)
		Expect(body).To(ContainSubstring("You are logged in as carol@corp.example"))
		tok := must(cli.DeviceAccessToken(oauthContext(ctx), da))
		claims := must(downstreamVerifier(ctx).Verify(ctx, tok.AccessToken))
		Expect(claims.Principal.Name).To(Equal("carol@corp.example"))
		Expect(claims.Principal.Organization).To(Equal("acme"))
	})

	It("refuses a callback that it did not start, and keeps no password of upstream people", func(ctx SpecContext) {
		code, body, _ := browse(ctx, newPerson(), downstreamIssuer+"/oauth/upstream/callback?state=forged&code=forged")
		Expect(code).To(Equal(http.StatusBadRequest))
		Expect(body).To(ContainSubstring("not started here"))

		da := must(cliConfig(downstreamIssuer).DeviceAuth(oauthContext(ctx)))
		person := newPerson()
		_, page, _ := browse(ctx, person, da.VerificationURIComplete)
		forms := formsOf(page)
		Expect(forms).To(HaveLen(2), "the password form and the button of acme's provider")
		Expect(forms[1].fields).To(HaveKeyWithValue("organization", ConsistOf("acme")))
		code, _ = deviceLogin(ctx, person, da.VerificationURIComplete, "carol", password)
		Expect(code).To(Equal(http.StatusUnauthorized), "carol's password lives upstream only")
	})
})

// postTokenTo sends a raw token request to the issuer iss and returns the status and the decoded
// JSON body.
func postTokenTo(ctx context.Context, iss string, form url.Values) (int, map[string]any, *http.Response) {
	GinkgoHelper()
	req := must(http.NewRequestWithContext(ctx, http.MethodPost, iss+"/oauth/token", strings.NewReader(form.Encode())))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := must(httpClient.Do(req))
	defer resp.Body.Close()
	body := map[string]any{}
	Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
	return resp.StatusCode, body, resp
}
