package server_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/server"
)

// blueGreenFile is a deploy.yml of one target with a blue/green strategy: an approval and an
// exposeServices condition before the switch.
const blueGreenFile = `version: v1
kind: kubernetes
application: shop
targets:
  prod:
    account: prod
    namespace: shop
    strategy: blue-green
manifests:
- inline: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: shop}
    spec:
      replicas: 2
      selector: {matchLabels: {app: shop}}
      template:
        metadata: {labels: {app: shop}}
        spec: {containers: [{name: shop, image: "nginx:1.27"}]}
strategies:
  blue-green:
    blueGreen:
      activeService: shop
      previewService: shop-preview
      redirectTrafficAfter:
      - pause: {untilApproved: true}
      - exposeServices: {services: [shop-preview], ttl: {duration: 30, unit: minutes}}
      shutDownOldVersionAfter:
      - pause: {duration: 10, unit: minutes}
`

var _ = Describe("Preview links and blue/green progress", func() {
	It("shows the preview links and the condition states the agent reports, in the deployment and the pipeline", func(ctx context.Context) {
		deployerToken := token(newCredential(ctx, ours, "bg-deployer", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))
		resp := postYAML("/pipelines/kubernetes", deployerToken, blueGreenFile)
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var started server.StartAnswer
		resp.into(&started)

		By("waiting for the target's Rollout")
		ro := &rolloutv1alpha1.Rollout{}
		Eventually(func(g Gomega) {
			list := &rolloutv1alpha1.RolloutList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ours.namespace), client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: started.PipelineID})).To(Succeed())
			g.Expect(list.Items).To(HaveLen(1))
			*ro = list.Items[0]
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("answering the blue/green conditions as queued before the agent reports")
		var td server.TargetDeployment
		resp = get("/deployments/"+ro.Name, deployerToken)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		resp.into(&td)
		Expect(td.Steps).To(HaveEach(HaveField("Status", "QUEUED")))
		Expect(td.Previews).To(BeEmpty())

		By("reporting the agent's progress as the Hub writes it: the approval waits, the exposeServices condition passed with a link")
		expires := metav1.NewTime(time.Now().Add(30 * time.Minute).Truncate(time.Second).UTC())
		link := "https://hub.example/preview/signed-token/"
		Eventually(func() error {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
				return err
			}
			ro.Status.Phase, ro.Status.CurrentStep, ro.Status.TotalSteps = rolloutv1alpha1.PhaseAwaitingApproval, 2, 3
			ro.Status.WaitingFor = "redirectTrafficAfter[0]"
			ro.Status.StableRevision, ro.Status.CanaryRevision = "shop-blue", "shop-green"
			ro.Status.BlueGreen = &rolloutv1alpha1.BlueGreenStatus{ActiveVersion: "shop-blue", PreviewVersion: "shop-green", Conditions: []rolloutv1alpha1.StrategyConditionStatus{
				{Gate: "redirectTrafficAfter[0]", Kind: "pause", State: rolloutv1alpha1.ConditionAwaitingApproval, Message: "waiting for approval"},
				{Gate: "redirectTrafficAfter[1]", Kind: "exposeServices", State: rolloutv1alpha1.ConditionPassed, Message: "preview links to shop-preview for 30m"},
				{Gate: "shutDownOldVersionAfter[0]", Kind: "pause", State: rolloutv1alpha1.ConditionPending},
			}}
			ro.Status.Previews = []deployv1alpha1.PreviewLink{{Service: "shop-preview", Namespace: "shop", URL: link, ExpiresAt: expires, Step: "redirectTrafficAfter[1]"}}
			return k8sClient.Status().Update(ctx, ro)
		}).WithTimeout(10 * time.Second).Should(Succeed())

		resp = get("/deployments/"+ro.Name, deployerToken)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		td = server.TargetDeployment{}
		resp.into(&td)
		Expect(td.Status).To(Equal("AWAITING_APPROVAL"))
		Expect(td.Previews).To(Equal(map[string]string{"shop-preview": link}))
		Expect(td.PreviewsExpireAt).To(Equal(expires.Format(time.RFC3339)))
		Expect(td.Steps).To(HaveLen(3))
		Expect(td.Steps[0]).To(And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("Type", "pause"), HaveField("Status", "AWAITING_APPROVAL"), HaveField("State", "AwaitingApproval")))
		Expect(td.Steps[1]).To(And(HaveField("Gate", "redirectTrafficAfter[1]"), HaveField("Type", "exposeServices"), HaveField("Status", "SUCCEEDED"),
			HaveField("Preview", Equal(&server.StepPreview{Previews: map[string]string{"shop-preview": link}, ExpiresAt: expires.Format(time.RFC3339)}))))
		Expect(td.Steps[2]).To(And(HaveField("Status", "QUEUED"), HaveField("State", "Pending"), HaveField("Preview", BeNil())))
		Expect(td.BlueGreen).To(Equal(&server.RolloutBlueGreen{ActiveVersion: "shop-blue", PreviewVersion: "shop-green", Conditions: []server.BlueGreenConditionView{
			{Gate: "redirectTrafficAfter[0]", Kind: "pause", State: "AwaitingApproval", Status: "AWAITING_APPROVAL", Message: "waiting for approval"},
			{Gate: "redirectTrafficAfter[1]", Kind: "exposeServices", State: "Passed", Status: "SUCCEEDED", Message: "preview links to shop-preview for 30m"},
			{Gate: "shutDownOldVersionAfter[0]", Kind: "pause", State: "Pending", Status: "QUEUED"},
		}}))

		By("showing the target's links on its step of the pipeline, once the Deployment controller mirrored them")
		Eventually(func(g Gomega) {
			var p server.Pipeline
			resp := get("/pipelines/"+started.PipelineID, deployerToken)
			g.Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
			resp.into(&p)
			g.Expect(p.Steps).To(ContainElement(HaveField("Deployment", And(Not(BeNil()),
				HaveField("ID", ro.Name), HaveField("Previews", Equal(map[string]string{"shop-preview": link})),
				HaveField("PreviewsExpireAt", expires.Format(time.RFC3339))))))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("answering another tenant's caller 404 for the same deployment")
		other := token(newCredential(ctx, sibling, "bg-sibling", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))
		Expect(get("/deployments/"+ro.Name, other).status).To(Equal(http.StatusNotFound))
	})
})
