package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/judgment"
	"github.com/aurora-cd/aurora/server"
)

// deployFile is a deploy.yml of application app with two independent targets, staging and prod,
// each behind a beforeDeployment approval (prod's requires the role "approver"), and a canary whose
// second step is a webhook.
func deployFile(app, extra string) string {
	return fmt.Sprintf(`version: v1
kind: kubernetes
application: %s
%s
targets:
  staging:
    account: staging
    namespace: web
    strategy: canary
    constraints:
      beforeDeployment:
      - pause: {untilApproved: true}
  prod:
    account: prod
    namespace: web
    strategy: canary
    constraints:
      beforeDeployment:
      - pause: {untilApproved: true, requiresRoles: [approver]}
manifests:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "nginx:1.27"}]}
strategies:
  canary:
    canary:
      steps:
      - setWeight: {weight: 50}
      - runWebhook: {name: smoke}
      - pause: {untilApproved: true}
webhooks:
- name: smoke
  method: POST
  uriTemplate: https://ci.example/smoke
  networkMode: direct
`, app, extra)
}

var _ = Describe("Pipelines", Ordered, func() {
	var deployer, approver, admin credential
	var deployerToken, approverToken, adminToken string
	var pipelineID string

	BeforeAll(func(ctx context.Context) {
		deployer = newCredential(ctx, ours, "deployer", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		approver = newCredential(ctx, ours, "approver", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}, "approver")
		admin = newCredential(ctx, ours, "admin", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull})
		deployerToken, approverToken, adminToken = token(deployer), token(approver), token(admin)
	})

	It("validates a good deploy file with dryRun and creates nothing", func(ctx context.Context) {
		resp := postYAML("/pipelines/kubernetes?dryRun=true", deployerToken, deployFile("dry", ""))
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		var ans server.DryRunAnswer
		resp.into(&ans)
		Expect(ans.Valid).To(BeTrue())
		Expect(ans.Warnings).To(ContainElement(ContainSubstring(`no agent "prod" is registered`)))
		Expect(applicationDeployments(ctx, "dry")).To(BeEmpty())
	})

	It("answers every error of a bad deploy file at once, with deploy-file paths", func() {
		bad := strings.NewReplacer(
			"strategy: canary\n    constraints:\n      beforeDeployment:\n      - pause: {untilApproved: true}\n", "strategy: nope\n    colour: blue\n",
			"weight: 50", "weight: 150",
		).Replace(deployFile("Bad_App", ""))
		resp := postYAML("/pipelines/kubernetes", deployerToken, bad)
		Expect(resp.status).To(Equal(http.StatusBadRequest), string(resp.body))
		e := resp.errorBody()
		Expect(e.Code).To(Equal(server.CodeInvalid))
		Expect(e.Details).To(ConsistOf(server.Detail{Field: "targets.staging.colour", Message: `unknown field "colour"; expected one of account, constraints, namespace, strategy`}))

		bad = strings.NewReplacer(
			"strategy: canary\n    constraints:\n      beforeDeployment:\n      - pause: {untilApproved: true}\n", "strategy: nope\n",
			"weight: 50", "weight: 150",
		).Replace(deployFile("Bad_App", ""))
		resp = postYAML("/pipelines/kubernetes", deployerToken, bad)
		Expect(resp.status).To(Equal(http.StatusBadRequest), string(resp.body))
		e = resp.errorBody()
		fields := map[string]string{}
		for _, d := range e.Details {
			fields[d.Field] += d.Message + "; "
		}
		Expect(fields).To(HaveKeyWithValue("targets.staging.strategy", ContainSubstring(`unknown strategy "nope"`)))
		Expect(fields).To(HaveKeyWithValue("application", ContainSubstring("should match")))
		Expect(fields).To(HaveKeyWithValue("strategies.canary.canary.steps[0].setWeight.weight", ContainSubstring("100")))
		for _, d := range e.Details {
			Expect(d.Field).NotTo(HavePrefix("spec"), "field paths are relative to the deploy file")
		}
	})

	It("refuses other media types with 415 and bodies over 4 MiB with 413", func() {
		resp := call(http.MethodPost, "/pipelines/kubernetes", deployerToken, []byte("x"), "text/html")
		Expect(resp.status).To(Equal(http.StatusUnsupportedMediaType))
		Expect(resp.errorBody().Code).To(Equal(server.CodeUnsupportedMediaType))
		huge := deployFile("huge", "contextOverrides:\n  blob: \""+strings.Repeat("x", server.MaxDeployFileBytes)+"\"")
		resp = postYAML("/pipelines/kubernetes", deployerToken, huge)
		Expect(resp.status).To(Equal(http.StatusRequestEntityTooLarge))
		Expect(resp.errorBody().Code).To(Equal(server.CodeTooLarge))
	})

	It("starts a pipeline in the caller's tenant, recording who started it", func(ctx context.Context) {
		resp := postYAML("/pipelines/kubernetes", deployerToken, deployFile("potato", ""))
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.StartAnswer
		resp.into(&ans)
		Expect(ans.PipelineID).To(MatchRegexp(`^potato-[a-z0-9]{5}$`))
		pipelineID = ans.PipelineID
		d := &deployv1alpha1.Deployment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ours.namespace, Name: pipelineID}, d)).To(Succeed())
		Expect(d.Annotations).To(HaveKeyWithValue(server.InitiatedByAnnotation, "deployer"))
		Expect(d.Annotations).To(HaveKeyWithValue(server.InitiatedByClientIDAnnotation, deployer.clientID))
		Expect(d.Labels).To(HaveKeyWithValue(server.ApplicationLabel, "potato"))
		Expect(d.Labels).To(HaveKeyWithValue(server.InitiatedByTypeLabel, "machine"))
	})

	It("shows the pipeline waiting for two approvals", func() {
		var p server.Pipeline
		Eventually(func(g Gomega) {
			resp := get("/pipelines/"+pipelineID, deployerToken)
			g.Expect(resp.status).To(Equal(http.StatusOK))
			p = server.Pipeline{}
			resp.into(&p)
			g.Expect(p.Status).To(Equal("AWAITING_APPROVAL"))
			g.Expect(p.PendingApprovals).To(HaveLen(2))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(p.Application).To(Equal("potato"))
		Expect(p.InitiatedBy).To(Equal("deployer"))
		Expect(p.Environments).To(ConsistOf("staging", "prod"))
		refs := map[string]string{}
		for _, st := range p.Steps {
			refs[st.Ref] = st.Type + "/" + st.Status
		}
		Expect(refs).To(HaveKeyWithValue("staging/beforeDeployment[0]", "pause/AWAITING_APPROVAL"))
		Expect(refs).To(HaveKeyWithValue("prod/beforeDeployment[0]", "pause/AWAITING_APPROVAL"))
		Expect(refs).To(HaveKey("staging"))
		Expect(p.PendingApprovals).To(ContainElement(server.PendingApproval{Target: "prod", Gate: "beforeDeployment[0]", RequiresRoles: []string{"approver"}, Since: p.PendingApprovals[indexOf(p.PendingApprovals, "prod")].Since}))
	})

	It("lists pipelines newest first, page by page", func(ctx context.Context) {
		type page struct {
			Items    []server.PipelineSummary `json:"items"`
			Continue string                   `json:"continue"`
		}
		var all page
		get("/pipelines?limit=500", deployerToken).into(&all)
		Expect(all.Continue).To(BeEmpty())
		Expect(all.Items).To(ContainElement(SatisfyAll(HaveField("ID", pipelineID), HaveField("Application", "potato"), HaveField("InitiatedBy", "deployer"))))
		var walked []server.PipelineSummary
		next := ""
		for range 100 {
			var p page
			resp := get("/pipelines?limit=1&continue="+next, deployerToken)
			Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
			resp.into(&p)
			Expect(len(p.Items)).To(BeNumerically("<=", 1))
			walked = append(walked, p.Items...)
			if next = p.Continue; next == "" {
				break
			}
		}
		Expect(walked).To(Equal(all.Items), "pages of one walk the whole list once, in the same order")
		var prev *deployv1alpha1.Deployment
		for _, it := range all.Items {
			d := &deployv1alpha1.Deployment{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ours.namespace, Name: it.ID}, d)).To(Succeed())
			if prev != nil {
				Expect(d.CreationTimestamp.After(prev.CreationTimestamp.Time)).To(BeFalse(), "newest first")
			}
			prev = d
		}
		Expect(get("/pipelines?limit=0", deployerToken).errorBody().Details).To(ConsistOf(HaveField("Field", "limit")))
		Expect(get("/pipelines?limit=501", deployerToken).status).To(Equal(http.StatusBadRequest))
		Expect(get("/pipelines?continue=garbage!", deployerToken).errorBody().Details).To(ConsistOf(HaveField("Field", "continue")))
	})

	It("answers the deploy file of the pipeline", func() {
		resp := get("/pipelines/"+pipelineID+"/config", deployerToken)
		Expect(resp.status).To(Equal(http.StatusOK))
		Expect(resp.header.Get("Content-Type")).To(Equal("application/yaml"))
		Expect(string(resp.body)).To(ContainSubstring("application: potato"))
		Expect(string(resp.body)).To(ContainSubstring("requiresRoles:\n"))
	})

	It("refuses a second deployment of the application while one is in flight (reject), and takes it with enqueueOne", func(ctx context.Context) {
		resp := postYAML("/pipelines/kubernetes", deployerToken, deployFile("potato", ""))
		Expect(resp.status).To(Equal(http.StatusConflict), string(resp.body))
		e := resp.errorBody()
		Expect(e.Code).To(Equal(server.CodeConflict))
		Expect(e.Message).To(ContainSubstring(pipelineID))
		Expect(applicationDeployments(ctx, "potato")).To(HaveLen(1))

		resp = postYAML("/pipelines/kubernetes", deployerToken, deployFile("potato", "deploymentConfig:\n  ifDeploymentInProgress: {strategy: enqueueOne}"))
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.StartAnswer
		resp.into(&ans)
		Eventually(func() string {
			var p server.Pipeline
			get("/pipelines/"+ans.PipelineID, deployerToken).into(&p)
			return p.Status
		}).WithTimeout(30 * time.Second).Should(Equal("QUEUED"))
		resp = postJSON("/pipelines/"+ans.PipelineID+"/cancel", deployerToken, nil)
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
	})

	It("answers 409 ambiguous when several gates wait and none is named", func() {
		resp := postJSON("/pipelines/"+pipelineID+"/approve", adminToken, nil)
		Expect(resp.status).To(Equal(http.StatusConflict), string(resp.body))
		e := resp.errorBody()
		Expect(e.Code).To(Equal(server.CodeAmbiguous))
		Expect(e.Details).To(ConsistOf(
			server.Detail{Field: "gate", Message: "staging/beforeDeployment[0]"},
			server.Detail{Field: "gate", Message: "prod/beforeDeployment[0]"},
		))
	})

	It("refuses an approval with 403 when the gate's requiresRoles exclude the caller", func(ctx context.Context) {
		resp := postJSON("/pipelines/"+pipelineID+"/approve", deployerToken, server.JudgmentRequest{Target: "prod"})
		Expect(resp.status).To(Equal(http.StatusForbidden), string(resp.body))
		Expect(resp.errorBody().Message).To(ContainSubstring("approver"))
		list := &deployv1alpha1.JudgmentList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace(ours.namespace))).To(Succeed())
		for _, j := range list.Items {
			Expect(j.Spec.Target).NotTo(Equal("prod"), "no Judgment is created for a refused approval")
		}
	})

	It("approves the one gate of a named target, with the caller as author and its roles", func(ctx context.Context) {
		resp := postJSON("/pipelines/"+pipelineID+"/approve", approverToken, server.JudgmentRequest{Target: "prod", Reason: "LGTM"})
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.JudgmentAnswer
		resp.into(&ans)
		Expect(ans.Target).To(Equal("prod"))
		Expect(ans.Gate).To(Equal("beforeDeployment[0]"))
		j := &deployv1alpha1.Judgment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ours.namespace, Name: ans.Judgment}, j)).To(Succeed())
		Expect(j.Spec).To(Equal(deployv1alpha1.JudgmentSpec{DeploymentName: pipelineID, Target: "prod", Gate: "beforeDeployment[0]", Decision: deployv1alpha1.DecisionApprove, Author: "approver", Reason: "LGTM"}))
		Expect(j.Annotations).To(HaveKeyWithValue(judgment.AuthorRolesAnnotation, "approver"))
		Expect(j.Annotations).To(HaveKeyWithValue(judgment.AuthorAdminAnnotation, "false"))
		Eventually(func() []server.PendingApproval {
			var p server.Pipeline
			get("/pipelines/"+pipelineID, deployerToken).into(&p)
			return p.PendingApprovals
		}).WithTimeout(30 * time.Second).Should(ConsistOf(HaveField("Target", "staging")))
	})

	It("approves the only waiting gate when none is named", func(ctx context.Context) {
		resp := postJSON("/pipelines/"+pipelineID+"/approve", deployerToken, nil)
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.JudgmentAnswer
		resp.into(&ans)
		Expect(ans).To(HaveField("Target", "staging"))
		Expect(ans).To(HaveField("Gate", "beforeDeployment[0]"))
	})

	It("answers 409 conflict when nothing waits for the decision", func() {
		Eventually(func() []server.PendingApproval {
			var p server.Pipeline
			get("/pipelines/"+pipelineID, deployerToken).into(&p)
			return p.PendingApprovals
		}).WithTimeout(30 * time.Second).Should(BeEmpty())
		resp := postJSON("/pipelines/"+pipelineID+"/approve", adminToken, server.JudgmentRequest{Target: "staging", Gate: "beforeDeployment[0]"})
		Expect(resp.status).To(Equal(http.StatusConflict), string(resp.body))
		Expect(resp.errorBody().Code).To(Equal(server.CodeConflict))
		resp = postJSON("/pipelines/"+pipelineID+"/skip", adminToken, nil)
		Expect(resp.status).To(Equal(http.StatusConflict), string(resp.body))
	})

	It("answers one target's deployment from its Rollout", func(ctx context.Context) {
		var ro rolloutv1alpha1.Rollout
		Eventually(func(g Gomega) {
			list := &rolloutv1alpha1.RolloutList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ours.namespace), client.MatchingLabels{rolloutv1alpha1.TargetLabel: "staging"})).To(Succeed())
			g.Expect(list.Items).NotTo(BeEmpty())
			ro = list.Items[0]
		}).WithTimeout(30 * time.Second).Should(Succeed())
		resp := get("/deployments/"+ro.Name, deployerToken)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		var td server.TargetDeployment
		resp.into(&td)
		Expect(td.PipelineID).To(Equal(pipelineID))
		Expect(td.Target).To(Equal("staging"))
		Expect(td.Account).To(Equal("staging"))
		Expect(td.Steps).To(HaveLen(3))
		Expect(td.Webhooks).To(ConsistOf(server.RolloutWebhook{Gate: "steps[1]", Name: "smoke"}))
		Expect(get("/deployments/nope", deployerToken).status).To(Equal(http.StatusNotFound))
	})

	It("turns a webhook's success callback into an approval of its gate", func(ctx context.Context) {
		resp := postJSON("/webhooks/"+pipelineID+"/staging/steps%5B1%5D/callback", deployerToken, map[string]any{"success": true, "mdMessage": "smoke **passed**"})
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.JudgmentAnswer
		resp.into(&ans)
		j := &deployv1alpha1.Judgment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ours.namespace, Name: ans.Judgment}, j)).To(Succeed())
		Expect(j.Spec).To(Equal(deployv1alpha1.JudgmentSpec{DeploymentName: pipelineID, Target: "staging", Gate: "steps[1]", Decision: deployv1alpha1.DecisionApprove, Author: "deployer", Reason: "smoke **passed**"}))
	})

	It("refuses a callback without success, or for an unknown target", func() {
		resp := postJSON("/webhooks/"+pipelineID+"/staging/steps%5B1%5D/callback", deployerToken, map[string]any{"mdMessage": "?"})
		Expect(resp.status).To(Equal(http.StatusBadRequest))
		Expect(resp.errorBody().Details).To(ConsistOf(HaveField("Field", "success")))
		resp = postJSON("/webhooks/"+pipelineID+"/qa/steps%5B1%5D/callback", deployerToken, map[string]any{"success": true})
		Expect(resp.status).To(Equal(http.StatusNotFound))
		resp = postJSON("/webhooks/"+pipelineID+"/staging/steps%5B1%5D/callback", deployerToken, map[string]any{"success": true, "extra": 1})
		Expect(resp.status).To(Equal(http.StatusBadRequest))
		Expect(resp.errorBody().Details).To(ConsistOf(HaveField("Field", "extra")))
	})

	It("turns a webhook's failure callback into a rollback of its target, with mdMessage as the reason", func(ctx context.Context) {
		resp := postJSON("/webhooks/"+pipelineID+"/prod/steps%5B1%5D/callback", deployerToken, map[string]any{"success": false, "mdMessage": "smoke **failed**"})
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.JudgmentAnswer
		resp.into(&ans)
		j := &deployv1alpha1.Judgment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ours.namespace, Name: ans.Judgment}, j)).To(Succeed())
		Expect(j.Spec).To(Equal(deployv1alpha1.JudgmentSpec{DeploymentName: pipelineID, Target: "prod", Decision: deployv1alpha1.DecisionRollback, Author: "deployer", Reason: "smoke **failed**"}))
	})

	It("cancels the pipeline: the Judgment is accepted and shows in the audit trail", func() {
		resp := postJSON("/pipelines/"+pipelineID+"/cancel", deployerToken, server.JudgmentRequest{Reason: "done testing"})
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var ans server.JudgmentAnswer
		resp.into(&ans)
		Expect(ans.Target).To(BeEmpty(), "cancel acts on every target")
		Eventually(func() []server.JudgmentRecord {
			var p server.Pipeline
			get("/pipelines/"+pipelineID, deployerToken).into(&p)
			return p.Judgments
		}).WithTimeout(30 * time.Second).Should(ContainElement(SatisfyAll(
			HaveField("Decision", "cancel"), HaveField("Author", "deployer"), HaveField("Reason", "done testing"))))
	})
})

// applicationDeployments lists our tenant's Deployments of app.
func applicationDeployments(ctx context.Context, app string) []deployv1alpha1.Deployment {
	list := &deployv1alpha1.DeploymentList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(ours.namespace))).To(Succeed())
	var out []deployv1alpha1.Deployment
	for _, d := range list.Items {
		if d.Spec.Application == app {
			out = append(out, d)
		}
	}
	return out
}

func indexOf(pas []server.PendingApproval, target string) int {
	for i, pa := range pas {
		if pa.Target == target {
			return i
		}
	}
	return 0
}
