package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/users"
)

// newUser creates a User with a password hash in the auth service's namespace.
func newUser(ctx context.Context, namespace, name, password string, spec iamv1alpha1.UserSpec) *iamv1alpha1.User {
	GinkgoHelper()
	u, err := users.EnsureUser(ctx, k8sClient, namespace, &iamv1alpha1.User{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, password, true)
	Expect(err).NotTo(HaveOccurred())
	u.Spec = spec // an earlier spec may have changed it
	Expect(k8sClient.Update(ctx, u)).To(Succeed())
	return u
}

// newPerson is a browser: it keeps cookies, trusts the test CA, follows redirects, and stops at the
// Console's redirect URI (nothing listens there).
func newPerson() *http.Client {
	jar, err := cookiejar.New(nil)
	Expect(err).NotTo(HaveOccurred())
	consoleHost := must(url.Parse(consoleRedirectURI)).Host
	return &http.Client{Timeout: 30 * time.Second, Jar: jar, Transport: httpClient.Transport,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == consoleHost {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}

// htmlForm is a form found on a page: where it posts and the values of its fields.
type htmlForm struct {
	action string
	fields url.Values
}

var (
	formPattern  = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
	inputPattern = regexp.MustCompile(`<input[^>]*>`)
	namePattern  = regexp.MustCompile(`\bname="([^"]*)"`)
	valuePattern = regexp.MustCompile(`\bvalue="([^"]*)"`)
)

// formsOf reads the forms of a page.
func formsOf(body string) []htmlForm {
	var out []htmlForm
	for _, m := range formPattern.FindAllStringSubmatch(body, -1) {
		f := htmlForm{action: html.UnescapeString(m[1]), fields: url.Values{}}
		for _, in := range inputPattern.FindAllString(m[2], -1) {
			name, value := namePattern.FindStringSubmatch(in), valuePattern.FindStringSubmatch(in)
			if value == nil {
				value = []string{"", ""}
			}
			f.fields.Set(html.UnescapeString(name[1]), html.UnescapeString(value[1]))
		}
		out = append(out, f)
	}
	return out
}

// browse GETs a page and returns its status, body and final URL.
func browse(ctx context.Context, person *http.Client, target string) (int, string, *http.Response) {
	GinkgoHelper()
	req := must(http.NewRequestWithContext(ctx, http.MethodGet, target, nil))
	resp := must(person.Do(req))
	defer resp.Body.Close()
	return resp.StatusCode, string(must(io.ReadAll(resp.Body))), resp
}

// submit posts a form with the given fields changed, as a browser does.
func submit(ctx context.Context, person *http.Client, f htmlForm, set map[string]string) (int, string, *http.Response) {
	GinkgoHelper()
	values := url.Values{}
	for k, v := range f.fields {
		values[k] = v
	}
	for k, v := range set {
		values.Set(k, v)
	}
	req := must(http.NewRequestWithContext(ctx, http.MethodPost, f.action, strings.NewReader(values.Encode())))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := must(person.Do(req))
	defer resp.Body.Close()
	return resp.StatusCode, string(must(io.ReadAll(resp.Body))), resp
}

// onlyForm returns the single form of a page.
func onlyForm(body string) htmlForm {
	GinkgoHelper()
	forms := formsOf(body)
	Expect(forms).To(HaveLen(1), "%s", body)
	return forms[0]
}

// cliConfig is the aurora CLI's OAuth client: the device flow with the public client aurora-cli.
func cliConfig(iss string) *oauth2.Config {
	return &oauth2.Config{ClientID: "aurora-cli", Endpoint: oauth2.Endpoint{
		DeviceAuthURL: iss + "/oauth/device/code", TokenURL: iss + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// consoleConfig is the Console's OAuth client: authorization code with PKCE.
func consoleConfig(iss string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: "aurora-console", RedirectURL: consoleRedirectURI, Scopes: scopes, Endpoint: oauth2.Endpoint{
		AuthURL: iss + "/oauth/authorize", TokenURL: iss + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// oauthError reads the OAuth error code of a failed token request of golang.org/x/oauth2.
func oauthError(err error) string {
	GinkgoHelper()
	var re *oauth2.RetrieveError
	Expect(err).To(BeAssignableToTypeOf(re))
	return err.(*oauth2.RetrieveError).ErrorCode
}

// claimsOf decodes a JWT's payload without verifying it (the tests verify with our verifier).
func claimsOf(token string) map[string]any {
	GinkgoHelper()
	parts := strings.Split(token, ".")
	Expect(parts).To(HaveLen(3))
	var claims map[string]any
	Expect(json.Unmarshal(must(base64.RawURLEncoding.DecodeString(parts[1])), &claims)).To(Succeed())
	return claims
}

// grantSecretName is where the service keeps a token's grant: named after its SHA-256.
func grantSecretName(kind, token string) string {
	sum := sha256.Sum256([]byte(token))
	const hex = "0123456789abcdef"
	var b strings.Builder
	for _, c := range sum {
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return "aurora-" + kind + "-" + b.String()[:48]
}
