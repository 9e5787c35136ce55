package console_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/server/console"
)

// serveTLS serves h on 127.0.0.1 over TLS from a fresh CA and returns its base URL and a client
// that trusts the CA.
func serveTLS(h http.Handler) (string, *http.Client) {
	url, client, _ := serveTLSWithCert(h)
	return url, client
}

// serveTLSWithCert is serveTLS that also returns the serving certificate.
func serveTLSWithCert(h http.Handler) (string, *http.Client, []byte) {
	ca, err := tlsutil.NewCA("console test CA", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err := tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS, err := tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	srv := &http.Server{Handler: h, TLSConfig: serverTLS, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	DeferCleanup(srv.Close)
	return "https://" + l.Addr().String(), &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}, certPEM
}

func get(c *http.Client, url string, header ...string) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	Expect(err).NotTo(HaveOccurred())
	return res, string(body)
}

var _ = Describe("Handler", func() {
	var base string
	var client *http.Client

	BeforeEach(func() {
		mux := http.NewServeMux()
		mux.Handle("/console/", console.Handler(console.Config{
			APIURL: "https://api.example.test:8444", Issuer: "https://auth.example.test:8443/", PollInterval: 2 * time.Second,
		}))
		base, client = serveTLS(mux)
	})

	It("serves the app at /console/ with strict security headers and no caching without revalidation", func() {
		res, body := get(client, base+"/console/")
		Expect(res.StatusCode).To(Equal(http.StatusOK))
		Expect(res.Header.Get("Content-Type")).To(Equal("text/html; charset=utf-8"))
		Expect(res.Header.Get("Cache-Control")).To(Equal("no-cache"))
		Expect(res.Header.Get("ETag")).To(MatchRegexp(`^"[0-9a-f]{24}"$`))
		csp := res.Header.Get("Content-Security-Policy")
		Expect(csp).To(ContainSubstring("script-src 'self'"))
		Expect(csp).To(ContainSubstring("frame-ancestors 'none'"))
		Expect(csp).To(ContainSubstring("connect-src 'self' https://api.example.test:8444 https://auth.example.test:8443"))
		Expect(csp).NotTo(ContainSubstring("unsafe-inline"))
		Expect(csp).NotTo(ContainSubstring("unsafe-eval"))
		Expect(res.Header.Get("Referrer-Policy")).To(Equal("no-referrer"))
		Expect(res.Header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
		Expect(res.Header.Get("X-Frame-Options")).To(Equal("DENY"))
		Expect(res.Header.Get("Strict-Transport-Security")).To(ContainSubstring("max-age="))
		Expect(body).To(ContainSubstring(`<main id="main"`))
		Expect(body).NotTo(ContainSubstring("{{static}}"))
		Expect(body).NotTo(MatchRegexp(`<script>|<script [^>]*>[^<]`), "no inline script")
		Expect(body).NotTo(MatchRegexp(`(?i)https?://`), "nothing is loaded from elsewhere")
	})

	It("serves every asset index.html names under a versioned URL that browsers may cache for ever", func() {
		_, body := get(client, base+"/console/")
		refs := regexp.MustCompile(`(?:src|href)="(/console/static/[0-9a-f]{16}/[^"]+)"`).FindAllStringSubmatch(body, -1)
		unique := map[string]bool{}
		for _, ref := range refs {
			unique[ref[1]] = true
			res, asset := get(client, base+ref[1])
			Expect(res.StatusCode).To(Equal(http.StatusOK), ref[1])
			Expect(res.Header.Get("Cache-Control")).To(Equal("public, max-age=31536000, immutable"))
			Expect(res.Header.Get("Content-Security-Policy")).NotTo(BeEmpty())
			Expect(asset).NotTo(BeEmpty())
		}
		Expect(unique).To(HaveLen(3), "the icon, the stylesheet and the script: %s", body)
	})

	It("serves the JavaScript modules as JavaScript, and they import only each other", func() {
		_, body := get(client, base+"/console/")
		main := regexp.MustCompile(`src="(/console/static/[0-9a-f]{16}/)js/main.js"`).FindStringSubmatch(body)
		Expect(main).To(HaveLen(2))
		seen := map[string]bool{}
		queue := []string{main[1] + "js/main.js"}
		for len(queue) > 0 {
			path := queue[0]
			queue = queue[1:]
			if seen[path] {
				continue
			}
			seen[path] = true
			res, js := get(client, base+path)
			Expect(res.StatusCode).To(Equal(http.StatusOK), path)
			Expect(res.Header.Get("Content-Type")).To(Equal("text/javascript; charset=utf-8"))
			for _, m := range regexp.MustCompile(`(?m)^import .* from '([^']+)';`).FindAllStringSubmatch(js, -1) {
				Expect(m[1]).To(HavePrefix("."), "%s imports %s", path, m[1])
				dir := path[:strings.LastIndex(path, "/")+1]
				queue = append(queue, clean(dir+m[1]))
			}
		}
		Expect(len(seen)).To(BeNumerically(">=", 8), "main.js and the modules it imports")
	})

	It("answers 304 when the browser already has the current version", func() {
		res, _ := get(client, base+"/console/config.json")
		etag := res.Header.Get("ETag")
		Expect(etag).NotTo(BeEmpty())
		again, body := get(client, base+"/console/config.json", "If-None-Match", etag)
		Expect(again.StatusCode).To(Equal(http.StatusNotModified))
		Expect(body).To(BeEmpty())
	})

	It("gives the app its configuration in config.json", func() {
		res, body := get(client, base+"/console/config.json")
		Expect(res.StatusCode).To(Equal(http.StatusOK))
		Expect(res.Header.Get("Content-Type")).To(Equal("application/json"))
		var conf map[string]any
		Expect(json.Unmarshal([]byte(body), &conf)).To(Succeed())
		Expect(conf).To(Equal(map[string]any{
			"apiURL": "https://api.example.test:8444", "issuer": "https://auth.example.test:8443", "clientId": "aurora-console",
			"redirectURL": "", "basePath": "/console/", "pollIntervalMs": float64(2000),
		}))
	})

	DescribeTable("refuses what it does not serve",
		func(method, path string, want int) {
			req, err := http.NewRequest(method, base+path, nil)
			Expect(err).NotTo(HaveOccurred())
			res, err := client.Do(req)
			Expect(err).NotTo(HaveOccurred())
			_ = res.Body.Close()
			Expect(res.StatusCode).To(Equal(want))
			Expect(res.Header.Get("Content-Security-Policy")).NotTo(BeEmpty())
		},
		Entry("an unknown file", http.MethodGet, "/console/secret.txt", http.StatusNotFound),
		Entry("an asset of another version", http.MethodGet, "/console/static/0000000000000000/js/main.js", http.StatusNotFound),
		Entry("a path that climbs out", http.MethodGet, "/console/static/%2e%2e/%2e%2e/config.json", http.StatusNotFound),
		Entry("a POST", http.MethodPost, "/console/", http.StatusMethodNotAllowed),
		Entry("a DELETE of config.json", http.MethodDelete, "/console/config.json", http.StatusMethodNotAllowed),
	)

	It("redirects /console to /console/", func() {
		url, noFollow := serveTLS(console.Handler(console.Config{Issuer: "https://auth.example.test"}))
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, _ := get(noFollow, url+"/console")
		Expect(res.StatusCode).To(Equal(http.StatusMovedPermanently))
		Expect(res.Header.Get("Location")).To(Equal("/console/"))
	})
})

// clean resolves ./ and ../ in a URL path.
func clean(p string) string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case ".":
		case "..":
			out = out[:len(out)-1]
		default:
			out = append(out, seg)
		}
	}
	return strings.Join(out, "/")
}

var _ = DescribeTable("New checks the configuration and names the field",
	func(cfg console.Config, wantErr string) {
		_, err := console.New(cfg)
		if wantErr == "" {
			Expect(err).NotTo(HaveOccurred())
			return
		}
		Expect(err).To(MatchError(ContainSubstring(wantErr)))
	},
	Entry("the defaults with an issuer", console.Config{Issuer: "https://auth.example.test"}, ""),
	Entry("plain http on loopback (development)", console.Config{Issuer: "http://127.0.0.1:8443"}, ""),
	Entry("no issuer", console.Config{}, "console Issuer: expected the https URL of the auth service"),
	Entry("a relative issuer", console.Config{Issuer: "auth.example.test"}, `console Issuer "auth.example.test": expected an absolute https URL`),
	Entry("plain http elsewhere", console.Config{Issuer: "http://auth.example.test"}, "expected https (plain http only on a loopback address)"),
	Entry("a bad API URL", console.Config{Issuer: "https://a.test", APIURL: "ftp://api"}, `console APIURL "ftp://api": expected an absolute https URL`),
	Entry("a bad redirect URL", console.Config{Issuer: "https://a.test", RedirectURL: "/console/"}, `console RedirectURL "/console/"`),
	Entry("a base path without the last slash", console.Config{Issuer: "https://a.test", BasePath: "/ui"}, `console BasePath "/ui": expected a path that starts and ends with a slash`),
)
