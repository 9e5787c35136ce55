package console_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/aurora-cd/aurora/internal/browser"
	"github.com/aurora-cd/aurora/server/console"
)

// These specs run the app in headless Chromium with no API behind it: what the Console does on
// its own (start, the login page, errors of the auth service) and its pure functions, imported as
// the modules they are.
var _ = Describe("The app in Chromium", Ordered, func() {
	var (
		b       *browser.Browser
		base    string
		version string
	)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	BeforeAll(func() {
		// An issuer nobody listens on: the login must say it cannot reach it.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		deadIssuer := "https://" + l.Addr().String()
		Expect(l.Close()).To(Succeed())
		mux := http.NewServeMux()
		mux.Handle("/console/", console.Handler(console.Config{Issuer: deadIssuer}))
		var certPEM []byte
		var client *http.Client
		base, client, certPEM = serveTLSWithCert(mux)
		_, index := get(client, base+"/console/")
		m := regexp.MustCompile(`/console/static/([0-9a-f]{16})/`).FindStringSubmatch(index)
		Expect(m).To(HaveLen(2))
		version = m[1]

		b, err = browser.Start(context.Background(), browser.Options{TrustedCertificates: [][]byte{certPEM}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(b.Stop)
	})

	run := func(actions ...chromedp.Action[chromedp.Void]) {
		ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
		defer cancel()
		Expect(chromedp.Do(ctx, actions...)).To(Succeed())
	}
	// eval imports a module of the app and evaluates expr with it bound to m; it returns JSON.
	eval := func(module, expr string) string {
		ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
		defer cancel()
		js := `import('/console/static/` + version + `/js/` + module + `').then(async (m) => JSON.stringify(await (` + expr + `)))`
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		Expect(err).NotTo(HaveOccurred(), js)
		return out
	}

	It("starts on the login page, without a console error or a CSP violation", func() {
		run(chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(css("#login")))
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		defer cancel()
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent`))
		Expect(err).NotTo(HaveOccurred())
		Expect(focused).To(Equal("Aurora Console"), "the page's heading has the focus")
		nav, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('nav').hidden`))
		Expect(err).NotTo(HaveOccurred())
		Expect(nav).To(BeTrue(), "no navigation before login")
		_, err = b.Screenshot("console-login")
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Problems()).To(BeEmpty())
	})

	It("says so when the auth service cannot be reached", func() {
		run(chromedp.Navigate(base+"/console/"), chromedp.Click(css("#login")),
			chromedp.WaitVisible(css(`.login [role="alert"]`)))
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		defer cancel()
		text, err := chromedp.Run(ctx, chromedp.Text(css(`.login [role="alert"]`)))
		Expect(err).NotTo(HaveOccurred())
		Expect(text).To(ContainSubstring("Cannot log in: cannot reach the auth service at https://127.0.0.1:"))
		enabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('login').disabled`))
		Expect(err).NotTo(HaveOccurred())
		Expect(enabled).To(BeTrue(), "the person can try again")
	})

	It("refuses a login answer it did not ask for", func() {
		run(chromedp.Navigate(base+"/console/?code=stolen&state=forged"), chromedp.WaitVisible(css(`.login [role="alert"]`)))
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		defer cancel()
		text, err := chromedp.Run(ctx, chromedp.Text(css(`.login [role="alert"]`)))
		Expect(err).NotTo(HaveOccurred())
		Expect(text).To(ContainSubstring("state differs"))
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search`))
		Expect(err).NotTo(HaveOccurred())
		Expect(loc).To(BeEmpty(), "the code leaves the address bar")
	})

	It("makes the PKCE S256 challenge of RFC 7636's example", func() {
		Expect(eval("auth.js", `m.pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')`)).To(Equal(`"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"`))
	})

	DescribeTable("decides who may judge a gate",
		func(principal, roles string, wantAllowed bool, wantReason string) {
			out := eval("views/deployment.js", `m.judgePermission(`+principal+`, `+roles+`)`)
			var got struct {
				Allowed bool   `json:"allowed"`
				Reason  string `json:"reason"`
			}
			Expect(json.Unmarshal([]byte(out), &got)).To(Succeed())
			Expect(got.Allowed).To(Equal(wantAllowed))
			Expect(got.Reason).To(ContainSubstring(wantReason))
		},
		Entry("a deployer on an open gate", `{scopes: ['api:deployment:full'], roles: []}`, `[]`, true, ""),
		Entry("a deployer with the role", `{scopes: ['api:deployment:full'], roles: ['sre']}`, `['sre', 'lead']`, true, ""),
		Entry("a deployer without the role", `{scopes: ['api:deployment:full'], roles: ['dev']}`, `['sre', 'lead']`, false, "Only sre or lead may decide here (or a tenant admin); your roles: dev."),
		Entry("a tenant admin without the role", `{scopes: ['api:tenant:full'], roles: []}`, `['sre']`, true, ""),
		Entry("an organization admin", `{scopes: ['api:organization:full']}`, `['sre']`, true, ""),
		Entry("a reader", `{scopes: ['read:infrastructure:data'], roles: ['sre']}`, `['sre']`, false, "You need the scope api:deployment:full"),
	)

	It("lists the gates that wait: approvals, and timed pauses that can be skipped", func() {
		pipeline := `{steps: [
			{type: 'deployment', ref: 'staging', status: 'RUNNING', dependsOn: [], deployment: {id: 'd-staging'}},
			{type: 'pause', ref: 'staging/steps[1]', constraintFor: 'staging', status: 'AWAITING_APPROVAL', pause: {untilApproved: true}},
			{type: 'pause', ref: 'staging/steps[3]', constraintFor: 'staging', status: 'RUNNING', pause: {duration: 5, unit: 'minutes'}},
			{type: 'deployment', ref: 'prod', status: 'QUEUED', dependsOn: ['staging']},
			{type: 'pause', ref: 'prod/beforeDeployment[0]', constraintFor: 'prod', status: 'QUEUED', pause: {untilApproved: true}}],
			pendingApprovals: [{target: 'staging', gate: 'steps[1]', requiresRoles: ['sre']}]}`
		Expect(eval("views/deployment.js", `m.waitingGates(`+pipeline+`).map((g) => [g.target, g.gate, g.kind])`)).To(MatchJSON(
			`[["staging", "steps[1]", "approval"], ["staging", "steps[3]", "timed"]]`))
	})

	It("lays the targets out in columns by their dependencies", func() {
		targets := `[{name: 'staging', dependsOn: [], gates: []}, {name: 'prod', dependsOn: ['staging'], gates: []},
			{name: 'prod-eu', dependsOn: ['staging'], gates: [{}, {}]}, {name: 'audit', dependsOn: ['prod', 'prod-eu'], gates: []}]`
		out := eval("graph.js", `(() => { const l = m.layout(`+targets+`); return Object.fromEntries([...l.pos].map(([n, p]) => [n, p.x])); })()`)
		var x map[string]float64
		Expect(json.Unmarshal([]byte(out), &x)).To(Succeed())
		Expect(x["prod"]).To(BeNumerically(">", x["staging"]))
		Expect(x["prod-eu"]).To(Equal(x["prod"]), "targets with the same depth share a column")
		Expect(x["audit"]).To(BeNumerically(">", x["prod"]))
	})

	DescribeTable("checks a new credential before sending it, naming the field",
		func(form, wantErrors string) {
			Expect(eval("views/credentials.js", `m.credentialRequest(`+form+`).errors`)).To(MatchJSON(wantErrors))
		},
		Entry("a good one", `{name: 'ci-pipeline', scopes: ['api:deployment:full'], agents: ''}`, `[]`),
		Entry("an upper-case name", `{name: 'CI', scopes: ['api:deployment:full']}`,
			`[{"field": "name", "message": "expected 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit"}]`),
		Entry("no scope", `{name: 'ci', scopes: []}`, `[{"field": "scopes", "message": "expected at least one scope"}]`),
		Entry("an expiry in the past", `{name: 'ci', scopes: ['api:deployment:full'], expires: '2001-01-01'}`,
			`[{"field": "expiresAtIso8601", "message": "expected a date in the future"}]`),
	)
})
