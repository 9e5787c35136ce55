package console

import (
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The Console", Ordered, func() {
	var first, second string

	It("lets a person log in with the authorization code flow and PKCE", func() {
		do(30*time.Second, chromedp.Navigate(apiURL+"/"), chromedp.WaitVisible(css("#login")))
		screenshot("01-login")
		do(30*time.Second, chromedp.Click(css("#login")),
			chromedp.WaitVisible(css(`input[name="username"]`)),
			chromedp.SendKeys(css(`input[name="username"]`), userName),
			chromedp.SendKeys(css(`input[name="password"]`), userPassword))
		screenshot("02-auth-service-login-form")
		do(30*time.Second, chromedp.Click(css(`button[type="submit"]`)), chromedp.WaitVisible(css("#logout")))
		Expect(text("#session")).To(ContainSubstring(userName))
		Expect(eval[string](`document.getElementById('tenant-select').value`)).To(Equal("dev"))
		Expect(eval[string](`location.search`)).To(BeEmpty(), "the code leaves the address bar")
		Expect(eval[bool](`sessionStorage.getItem('aurora.session') !== null`)).To(BeTrue())
	})

	It("lists the tenant's deployments with live status", func() {
		first = startPipeline(deployFile("v1"))
		do(60*time.Second, chromedp.WaitVisible(css(`tr[data-pipeline="`+first+`"] [data-status="SUCCEEDED"]`)))
		second = startPipeline(deployFile("v2"))
		do(30*time.Second, chromedp.WaitVisible(css(`tr[data-pipeline="`+second+`"]`)))
		Expect(text("#deployments-table tbody tr:first-child")).To(ContainSubstring(second), "newest first")
		Expect(text(".freshness")).To(ContainSubstring("Updated"))
		screenshot("03-deployments")
	})

	It("shows a deployment's targets as a graph while it progresses, and lets the person approve", func() {
		do(30*time.Second, chromedp.Click(css(`a[href="#/deployments/`+second+`"]`)), chromedp.WaitVisible(css(".pipeline-graph")))
		Expect(eval[string](`document.activeElement.tagName`)).To(Equal("H1"), "the focus moves to the new page's heading")
		By("staging reaches its approval at 50% while prod waits, greyed")
		do(2*time.Minute, chromedp.WaitVisible(css(`.pipeline-graph [data-target="staging"][data-status="AWAITING_APPROVAL"]`)),
			chromedp.WaitVisible(css(`.decision[data-target="staging"] button[data-action="approve"]:not([disabled])`)))
		Expect(text(`.pipeline-graph [data-target="staging"]`)).To(ContainSubstring("weight 50%"))
		Expect(eval[string](`document.querySelector('.pipeline-graph [data-target="prod"]').getAttribute('class')`)).To(ContainSubstring("waiting"))
		Expect(eval[int](`document.querySelectorAll('.pipeline-graph .edge.waiting').length`)).To(BeNumerically(">=", 1), "prod's edge is dotted")
		Expect(eval[bool](`document.querySelector('button[data-action="rollback"][data-key="rollback:prod:"]').disabled`)).To(BeTrue(), "nothing of prod to roll back yet")
		do(30*time.Second, chromedp.Click(css("#config-details summary")), chromedp.WaitVisible(css("#config-details pre")))
		Eventually(func() string { return text("#config-details pre") }).WithTimeout(10 * time.Second).Should(ContainSubstring("image: ghcr.io/aurora-cd/potato-facts:v2"))
		do(10*time.Second, chromedp.Click(css("#config-details summary"))) // closed again: the screenshot shows the decisions and the graph
		screenshot("04-deployment-awaiting-approval")

		By("approving; staging finishes, prod runs, the deployment succeeds")
		do(30*time.Second, chromedp.Click(css(`.decision[data-target="staging"] button[data-action="approve"]`)),
			chromedp.WaitVisible(css(`.notice-area .banner.ok`)))
		Expect(text(".notice-area")).To(ContainSubstring("Approve: done for staging steps[1]"))
		do(3*time.Minute, chromedp.WaitVisible(css(`.title-badge [data-status="SUCCEEDED"]`)))
		Eventually(func() string { return eval[string](`document.getElementById('announcer').textContent`) }).
			WithTimeout(5*time.Second).Should(ContainSubstring("Succeeded"), "status changes are announced to screen readers")
		Expect(text(`.pipeline-graph [data-target="prod"]`)).To(ContainSubstring("Succeeded"))
		Expect(text("#history-h + table")).To(And(ContainSubstring("approve"), ContainSubstring(userName)))
		Expect(eval[bool](`document.querySelector('button[data-action="approve"]').disabled`)).To(BeTrue(), "nothing waits any more")
		Expect(pipelineStatus(second)).To(Equal("SUCCEEDED"))
		By("a target's node in the graph takes the keyboard to that target's details")
		do(10*time.Second, chromedp.Focus(css(`.pipeline-graph [data-target="prod"]`)), chromedp.KeyEvent("\r"))
		Expect(eval[string](`document.activeElement.id`)).To(Equal("target-prod"))
		screenshot("05-deployment-succeeded")
	})

	It("cancels a deployment after confirmation, with the reason in the audit trail", func() {
		third := startPipeline(deployFile("v3"))
		do(30*time.Second, chromedp.Click(css(`.breadcrumb a`)), chromedp.WaitVisible(css(`a[href="#/deployments/`+third+`"]`)),
			chromedp.Click(css(`a[href="#/deployments/`+third+`"]`)),
			chromedp.WaitVisible(css(`.decision[data-target="staging"] button[data-action="approve"]:not([disabled])`)),
			chromedp.Click(css(`button[data-action="cancel"]`)), chromedp.WaitVisible(css("dialog[open]")))
		Expect(eval[string](`document.activeElement.id`)).To(Equal("dialog-reason"), "the focus moves into the dialog")
		do(30*time.Second, chromedp.SendKeys(css("#dialog-reason"), "v3 has a typo"),
			chromedp.Click(css(`dialog[open] button[value="confirm"]`)),
			chromedp.WaitVisible(css(`.title-badge [data-status="CANCELLED"]`)))
		Expect(text("#history-h + table")).To(And(ContainSubstring("cancel"), ContainSubstring("v3 has a typo"), ContainSubstring(userName)))
		Expect(pipelineStatus(third)).To(Equal("CANCELLED"))
	})

	It("shows the agents with their connection", func() {
		do(30*time.Second, chromedp.Click(css(`#nav a[href="#/agents"]`)), chromedp.WaitVisible(css(`#agents-table tr[data-agent="prod"]`)))
		Expect(text(`tr[data-agent="staging"]`)).To(ContainSubstring("Connected"))
		Expect(text(`tr[data-agent="prod"]`)).To(ContainSubstring("Connected"))
		Expect(eval[string](`document.querySelector('#nav a[aria-current="page"]').textContent`)).To(Equal("Agents"))
		screenshot("06-agents")
	})

	It("creates a machine credential whose secret is shown once and works, then deletes it", func() {
		do(30*time.Second, chromedp.Click(css(`#nav a[href="#/credentials"]`)), chromedp.WaitVisible(css("#credentials-table")),
			chromedp.SendKeys(css("#cred-name"), "ci-pipeline"),
			chromedp.Click(css(`input[value="api:deployment:full"]`)),
			chromedp.Click(css(`#create-credential button[type="submit"]`)),
			chromedp.WaitVisible(css("#new-client-secret")))
		clientID := eval[string](`document.getElementById('new-client-id').value`)
		secret := eval[string](`document.getElementById('new-client-secret').value`)
		Expect(secret).NotTo(BeEmpty())
		Expect(eval[string](`document.activeElement.id`)).To(Equal("secret-h"), "the focus moves to the secret")
		_, err := machineToken(clientID, secret)
		Expect(err).NotTo(HaveOccurred(), "the secret shown gets a token")
		do(30*time.Second, chromedp.WaitVisible(css(`tr[data-credential="ci-pipeline"]`)))
		screenshot("07-credentials")

		By("deleting it after confirmation")
		do(30*time.Second, chromedp.Click(css(`tr[data-credential="ci-pipeline"] button`)), chromedp.WaitVisible(css("dialog[open]")))
		screenshot("08-delete-credential-confirmation")
		do(30*time.Second, chromedp.Click(css(`dialog[open] button[value="confirm"]`)),
			chromedp.WaitNotPresent(css(`tr[data-credential="ci-pipeline"]`)))
		Expect(text("#creds-h ~ div")).To(ContainSubstring("Credential ci-pipeline deleted"))
		Eventually(func() error { _, err := machineToken(clientID, secret); return err }).WithTimeout(30 * time.Second).Should(HaveOccurred())
	})

	It("switches tenant with the refresh token", func() {
		do(30*time.Second, chromedp.Click(css(`#nav a[href="#/deployments"]`)), chromedp.WaitVisible(css("#deployments-table")),
			chromedp.SetValue(css("#tenant-select"), "qa"), // fires input and change, as a person's choice does
			chromedp.WaitVisible(css(".empty")))
		Expect(eval[string](`document.getElementById('tenant-select').value`)).To(Equal("qa"))
		Expect(text(".empty")).To(ContainSubstring("No deployments yet"), "the qa tenant has none of dev's deployments")
		Expect(text("#session")).To(ContainSubstring("demo / qa"))
		screenshot("09-tenant-switched")
	})

	It("logs out", func() {
		do(30*time.Second, chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login")))
		Expect(eval[bool](`sessionStorage.getItem('aurora.session') === null`)).To(BeTrue())
	})

	It("lets the demo user of aurora dev log in", func() {
		do(30*time.Second, chromedp.Click(css("#login")),
			chromedp.WaitVisible(css(`input[name="username"]`)),
			chromedp.SendKeys(css(`input[name="username"]`), env.DemoUser.Username),
			chromedp.SendKeys(css(`input[name="password"]`), env.DemoUser.Password),
			chromedp.Click(css(`button[type="submit"]`)),
			chromedp.WaitVisible(css(`tr[data-pipeline="`+second+`"]`)))
		Expect(text("#tenant-name")).To(ContainSubstring("demo / dev"), "one tenant: shown, not a choice")
	})

	It("disables Approve, with the reason, for a person without the role the gate requires", func() {
		do(30*time.Second, chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login")), chromedp.Click(css("#login")),
			chromedp.WaitVisible(css(`input[name="username"]`)),
			chromedp.SendKeys(css(`input[name="username"]`), deployerName),
			chromedp.SendKeys(css(`input[name="password"]`), userPassword),
			chromedp.Click(css(`button[type="submit"]`)), chromedp.WaitVisible(css("#logout")))
		fourth := startPipeline(deployFileApprovedBy("v4", "sre"))
		do(2*time.Minute, chromedp.WaitVisible(css(`a[href="#/deployments/`+fourth+`"]`)),
			chromedp.Click(css(`a[href="#/deployments/`+fourth+`"]`)),
			chromedp.WaitVisible(css(`.decision[data-target="staging"] button[data-action="approve"][disabled]`)))
		Expect(text(`.decision[data-target="staging"] .why`)).To(Equal("Only sre may decide here (or a tenant admin); your roles: deployer."))
		Expect(eval[string](`document.querySelector('.decision[data-target="staging"] button[data-action="approve"]').getAttribute('aria-describedby')`)).
			To(Equal(eval[string](`document.querySelector('.decision[data-target="staging"] .why').id`)), "the reason describes the button")
		Expect(eval[bool](`document.querySelector('button[data-action="cancel"]').disabled`)).To(BeFalse(), "a deployer may still cancel")
		screenshot("10-approval-requires-a-role")
	})

	It("saw no console error, uncaught exception or CSP violation", func() {
		Expect(b.Problems()).To(BeEmpty())
	})

	It("sends the person back to the login page, saying why, when the API refuses the token", func() {
		By("spoiling the signature of the session's token (after the check for page problems: the 401 is one)")
		eval[bool](`(() => { const s = JSON.parse(sessionStorage.getItem('aurora.session'));
			s.accessToken = s.accessToken.slice(0, -8) + 'AAAAAAAA'; s.refreshToken = '';
			sessionStorage.setItem('aurora.session', JSON.stringify(s)); return true; })()`)
		do(30*time.Second, chromedp.Navigate(apiURL+"/console/#/agents"), chromedp.Reload(), chromedp.WaitVisible(css("#login")))
		Expect(text(".login")).To(ContainSubstring("Your session has expired"))
		Expect(eval[bool](`sessionStorage.getItem('aurora.session') === null`)).To(BeTrue())
	})
})
