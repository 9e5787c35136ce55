package server_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/users"
)

// personPassword is the password of the people the specs create.
const personPassword = "correct horse battery staple"

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// newPerson creates a User (password hash in the auth service's namespace) with spec.
func newPerson(ctx context.Context, login string, spec iamv1alpha1.UserSpec) {
	GinkgoHelper()
	_, err := users.EnsureUser(ctx, k8sClient, "aurora-system", &iamv1alpha1.User{ObjectMeta: metav1.ObjectMeta{Name: login}, Spec: spec}, personPassword, true)
	Expect(err).NotTo(HaveOccurred())
}

// personToken logs a person in as the CLI does: the device flow of the auth service with the
// public client aurora-cli, the person's browser logging in on the verification page. It returns
// the access token for the person's first tenant.
func personToken(ctx context.Context, login string) string {
	GinkgoHelper()
	cli := &oauth2.Config{ClientID: "aurora-cli", Endpoint: oauth2.Endpoint{
		DeviceAuthURL: issuerURL + "/oauth/device/code", TokenURL: issuerURL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	octx := context.WithValue(ctx, oauth2.HTTPClient, httpClient)
	da, err := cli.DeviceAuth(octx)
	Expect(err).NotTo(HaveOccurred())

	jar, err := cookiejar.New(nil)
	Expect(err).NotTo(HaveOccurred())
	browser := &http.Client{Jar: jar, Transport: httpClient.Transport, Timeout: httpClient.Timeout}
	page, err := url.Parse(da.VerificationURIComplete)
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page.String(), nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := browser.Do(req)
	Expect(err).NotTo(HaveOccurred())
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
	action := formAction.FindStringSubmatch(string(body))
	Expect(action).NotTo(BeNil(), string(body))
	target, err := page.Parse(html.UnescapeString(action[1]))
	Expect(err).NotTo(HaveOccurred())
	form := url.Values{"username": {login}, "password": {personPassword}, "user_code": {da.UserCode}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(body), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = browser.Do(req)
	Expect(err).NotTo(HaveOccurred())
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))

	tok, err := cli.DeviceAccessToken(octx, da)
	Expect(err).NotTo(HaveOccurred())
	return tok.AccessToken
}
