package api_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// invalid creates the sample in file, changed by the JSON merge patch, and expects the API server to
// refuse it with a message holding every one of wantInMessage (the field's path and what was
// expected).
func invalid(ctx context.Context, file, mergePatch string, wantInMessage ...string) {
	GinkgoHelper()
	u := readSample(filepath.Join(samplesDir, file))
	base, err := json.Marshal(u.Object)
	Expect(err).NotTo(HaveOccurred())
	patched, err := jsonpatch.MergePatch(base, []byte(mergePatch))
	Expect(err).NotTo(HaveOccurred(), "the test's patch is not valid JSON")
	obj := &unstructured.Unstructured{}
	Expect(json.Unmarshal(patched, &obj.Object)).To(Succeed())
	if kind := obj.GetKind(); kind != "Tenant" && kind != "User" { // cluster-scoped kinds have no namespace
		obj.SetNamespace(validationNamespace)
	}
	obj.SetName("")
	obj.SetGenerateName("invalid-")
	err = k8sClient.Create(ctx, obj)
	Expect(err).To(HaveOccurred(), "the API server accepted an invalid %s", obj.GetKind())
	for _, want := range wantInMessage {
		Expect(err.Error()).To(ContainSubstring(want))
	}
}

var validationNamespace string

const (
	deploymentSample = "deploy_v1alpha1_deployment.yaml"
	analysisSample   = "deploy_v1alpha1_deployment_analysis.yaml"
	blueGreenSample  = "deploy_v1alpha1_deployment_bluegreen.yaml"
)

var _ = Describe("Validation at admission", func() {
	BeforeEach(func(ctx SpecContext) {
		if validationNamespace == "" {
			validationNamespace = newNamespace(ctx, "validation")
		}
	})

	DescribeTable("refuses an invalid Deployment with a message that names the field",
		func(ctx SpecContext, file, patch string, want ...string) { invalid(ctx, file, patch, want...) },
		Entry("no application", deploymentSample, `{"spec":{"application":null}}`,
			"spec.application", "Required value"),
		Entry("an application that is not a DNS label", deploymentSample, `{"spec":{"application":"Potato Facts"}}`,
			"spec.application", "should match"),
		Entry("no targets", deploymentSample, `{"spec":{"targets":null}}`,
			"spec.targets", "Required value"),
		Entry("no manifests", deploymentSample, `{"spec":{"manifests":[]}}`,
			"spec.manifests", "at least 1"),
		Entry("a manifest given by path", deploymentSample, `{"spec":{"manifests":[{"path":"manifests/app.yaml"}]}}`,
			"spec.manifests[0]", "path is resolved by the aurora CLI"),
		Entry("an empty inline manifest", deploymentSample, `{"spec":{"manifests":[{"inline":""}]}}`,
			"spec.manifests[0]", "inline must hold at least one manifest"),
		Entry("a manifest aimed at an unknown target", deploymentSample, `{"spec":{"manifests":[{"inline":"kind: ConfigMap","targets":["qa"]}]}}`,
			"manifests[].targets", "spec.targets"),
		Entry("a target without account", deploymentSample, `{"spec":{"targets":{"prod":{"account":null}}}}`,
			"spec.targets.prod.account", "Required value"),
		Entry("a target naming an unknown strategy", deploymentSample, `{"spec":{"targets":{"prod":{"strategy":"blue-green"}}}}`,
			"targets[].strategy", "spec.strategies"),
		Entry("dependsOn naming an unknown target", deploymentSample, `{"spec":{"targets":{"prod":{"constraints":{"dependsOn":["qa"]}}}}}`,
			"targets[].constraints.dependsOn", "another key of spec.targets"),
		Entry("a target depending on itself", deploymentSample, `{"spec":{"targets":{"prod":{"constraints":{"dependsOn":["prod"]}}}}}`,
			"targets[].constraints.dependsOn", "another key of spec.targets"),
		Entry("a beforeDeployment gate with pause and runWebhook", deploymentSample,
			`{"spec":{"targets":{"prod":{"constraints":{"beforeDeployment":[{"pause":{"untilApproved":true},"runWebhook":{"name":"x"}}]}}}}}`,
			"spec.targets[prod].constraints.beforeDeployment[0]", "exactly one of pause or runWebhook"),
		Entry("a weight above 100", deploymentSample, `{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"setWeight":{"weight":101}}]}}}}}`,
			"spec.strategies.rolling.canary.steps[0].setWeight.weight", "less than or equal to 100"),
		Entry("a negative weight", deploymentSample, `{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"setWeight":{"weight":-5}}]}}}}}`,
			"spec.strategies.rolling.canary.steps[0].setWeight.weight", "greater than or equal to 0"),
		Entry("a canary step with two kinds", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"setWeight":{"weight":50},"pause":{"untilApproved":true}}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0]", "exactly one of setWeight, pause, analysis, runWebhook or exposeServices"),
		Entry("an empty canary step", deploymentSample, `{"spec":{"strategies":{"rolling":{"canary":{"steps":[{}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0]", "exactly one of setWeight"),
		Entry("a canary without steps", deploymentSample, `{"spec":{"strategies":{"rolling":{"canary":{"steps":[]}}}}}`,
			"spec.strategies.rolling.canary.steps", "at least 1"),
		Entry("a pause with both duration and untilApproved", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"pause":{"duration":5,"unit":"minutes","untilApproved":true}}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0].pause", "exactly one of duration (with unit) or untilApproved"),
		Entry("a pause with neither duration nor untilApproved", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"pause":{"unit":"minutes"}}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0].pause", "exactly one of duration (with unit) or untilApproved"),
		Entry("a pause with a duration but no unit", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"pause":{"duration":5}}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0].pause", "needs a unit"),
		Entry("a pause unit that does not exist", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"pause":{"duration":5,"unit":"days"}}]}}}}}`,
			"spec.strategies.rolling.canary.steps[0].pause.unit", `supported values: "seconds", "minutes", "hours"`),
		Entry("requiresRoles on a timed pause", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"pause":{"duration":5,"unit":"minutes","requiresRoles":["admin"]}}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0].pause", "requiresRoles and approvalExpiration apply only"),
		Entry("an empty requiresRoles", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"pause":{"untilApproved":true,"requiresRoles":[]}}]}}}}}`,
			"spec.strategies.rolling.canary.steps[0].pause.requiresRoles", "at least 1"),
		Entry("a strategy with canary and blueGreen", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"blueGreen":{"activeService":"potato-facts"}}}}}`,
			"spec.strategies[rolling]", "exactly one of canary or blueGreen"),
		Entry("a timeout under 60 seconds", deploymentSample, `{"spec":{"deploymentConfig":{"timeout":{"duration":30,"unit":"seconds"}}}}`,
			"spec.deploymentConfig.timeout", "at least 60 seconds"),
		Entry("a timeout unit that does not exist", deploymentSample, `{"spec":{"deploymentConfig":{"timeout":{"duration":3,"unit":"days"}}}}`,
			"spec.deploymentConfig.timeout.unit", `supported values`),
		Entry("an unknown ifDeploymentInProgress strategy", deploymentSample,
			`{"spec":{"deploymentConfig":{"ifDeploymentInProgress":{"strategy":"queue"}}}}`,
			"spec.deploymentConfig.ifDeploymentInProgress.strategy", `supported values: "reject", "enqueueOne"`),
		Entry("an exposeServices ttl over 24 hours", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"exposeServices":{"services":["potato-facts"],"ttl":{"duration":25,"unit":"hours"}}}]}}}}}`,
			"spec.strategies[rolling].canary.steps[0].exposeServices", "ttl must be between 1 minute and 24 hours"),
		Entry("an exposeServices without services", deploymentSample,
			`{"spec":{"strategies":{"rolling":{"canary":{"steps":[{"exposeServices":{"services":[]}}]}}}}}`,
			"spec.strategies.rolling.canary.steps[0].exposeServices.services", "at least 1"),
		Entry("a target filter naming an unknown target", deploymentSample, `{"spec":{"targetFilters":[{"includeTarget":"qa"}]}}`,
			"targetFilters[].includeTarget"),
		Entry("a kind other than kubernetes", deploymentSample, `{"spec":{"kind":"lambda"}}`,
			"spec.kind", `supported values: "kubernetes"`),
		Entry("a query without limits", analysisSample,
			`{"spec":{"analysis":{"queries":[{"name":"errorRate","queryTemplate":"up"}]}}}`,
			"spec.analysis.queries[0]", "a query needs an upperLimit, a lowerLimit or both"),
		Entry("a query whose lowerLimit exceeds its upperLimit", analysisSample,
			`{"spec":{"analysis":{"queries":[{"name":"errorRate","queryTemplate":"up","lowerLimit":5,"upperLimit":1}]}}}`,
			"spec.analysis.queries[0]", "lowerLimit must not be greater than upperLimit"),
		Entry("a query without a template", analysisSample,
			`{"spec":{"analysis":{"queries":[{"name":"errorRate","upperLimit":1}]}}}`,
			"spec.analysis.queries[0].queryTemplate", "Required value"),
		Entry("two queries with one name", analysisSample,
			`{"spec":{"analysis":{"queries":[{"name":"q","queryTemplate":"up","upperLimit":1},{"name":"q","queryTemplate":"up","upperLimit":2}]}}}`,
			"spec.analysis.queries[1]", "Duplicate value"),
		Entry("an analysis step with units that do not exist", analysisSample,
			`{"spec":{"strategies":{"analyzed":{"canary":{"steps":[{"analysis":{"interval":1,"units":"weeks","numberOfJudgmentRuns":1,"queries":["errorRate"]}}]}}}}}`,
			"spec.strategies.analyzed.canary.steps[0].analysis.units", `supported values: "none", "seconds", "minutes", "hours"`),
		Entry("an analysis step without queries", analysisSample,
			`{"spec":{"strategies":{"analyzed":{"canary":{"steps":[{"analysis":{"interval":1,"units":"minutes","numberOfJudgmentRuns":1,"queries":[]}}]}}}}}`,
			"spec.strategies.analyzed.canary.steps[0].analysis.queries", "at least 1"),
		Entry("an analysis step with zero judgment runs", analysisSample,
			`{"spec":{"strategies":{"analyzed":{"canary":{"steps":[{"analysis":{"interval":1,"units":"minutes","numberOfJudgmentRuns":0,"queries":["q"]}}]}}}}}`,
			"spec.strategies.analyzed.canary.steps[0].analysis.numberOfJudgmentRuns", "greater than or equal to 1"),
		Entry("an unknown rollBackMode", analysisSample,
			`{"spec":{"strategies":{"analyzed":{"canary":{"steps":[{"analysis":{"interval":1,"units":"minutes","numberOfJudgmentRuns":1,"queries":["q"],"rollBackMode":"auto"}}]}}}}}`,
			"analysis.rollBackMode", `supported values: "automatic", "manual"`),
		Entry("a webhook with an unknown method", analysisSample,
			`{"spec":{"webhooks":[{"name":"smoke-test","method":"SEND","uriTemplate":"https://x"}]}}`,
			"spec.webhooks[0].method", "supported values"),
		Entry("a webhook with an unknown networkMode", analysisSample,
			`{"spec":{"webhooks":[{"name":"smoke-test","method":"POST","uriTemplate":"https://x","networkMode":"vpn"}]}}`,
			"spec.webhooks[0].networkMode", `supported values: "direct", "remoteNetworkAgent"`),
		Entry("an afterDeployment gate with two kinds", analysisSample,
			`{"spec":{"targets":{"prod":{"constraints":{"afterDeployment":[{"runWebhook":{"name":"smoke-test"},"pause":{"untilApproved":true}}]}}}}}`,
			"spec.targets[prod].constraints.afterDeployment[0]", "exactly one of pause, runWebhook or analysis"),
		Entry("an SMI block without root service", analysisSample,
			`{"spec":{"trafficManagement":[{"smi":[{"canaryServiceName":"c"}]}]}}`,
			"spec.trafficManagement[0].smi[0].rootServiceName", "Required value"),
		Entry("a blue/green condition with two kinds", blueGreenSample,
			`{"spec":{"strategies":{"blue-green":{"blueGreen":{"redirectTrafficAfter":[{"pause":{"untilApproved":true},"exposeServices":{"services":["s"]}}]}}}}}`,
			"spec.strategies[blue-green].blueGreen.redirectTrafficAfter[0]", "exactly one of pause, analysis, runWebhook or exposeServices"),
	)

	DescribeTable("refuses the other kinds' invalid objects with a message that names the field",
		func(ctx SpecContext, file, patch string, want ...string) { invalid(ctx, file, patch, want...) },
		Entry("a tenant organization that is not a DNS label", "iam_v1alpha1_tenant.yaml", `{"spec":{"organization":"ACME Corp"}}`,
			"spec.organization", "should match"),
		// acme + corp-prod and acme-corp + prod would share the namespace aurora-acme-corp-prod.
		Entry("a tenant organization with a hyphen", "iam_v1alpha1_tenant.yaml", `{"spec":{"organization":"acme-corp"}}`,
			"spec.organization", "should match"),
		Entry("a tenant without environment", "iam_v1alpha1_tenant.yaml", `{"spec":{"environment":null}}`,
			"spec.environment", "Required value"),
		Entry("a credential with an unknown scope", "iam_v1alpha1_machinecredential.yaml", `{"spec":{"scopes":["api:everything:full"]}}`,
			"spec.scopes[0]", `supported values: "api:organization:full", "api:tenant:full", "api:deployment:full", "api:agentHub:full", "read:infrastructure:data"`),
		Entry("a credential role with a comma", "iam_v1alpha1_machinecredential.yaml", `{"spec":{"roles":["viewer,release-manager"]}}`,
			"spec.roles[0]", "should match"),
		Entry("a credential without scopes", "iam_v1alpha1_machinecredential.yaml", `{"spec":{"scopes":[]}}`,
			"spec.scopes", "at least 1"),
		Entry("a grace period without rotation", "iam_v1alpha1_machinecredential.yaml", `{"spec":{"rotationRequest":null}}`,
			"spec", "rotationGracePeriod needs rotationRequest"),
		Entry("a judgment with an unknown decision", "deploy_v1alpha1_judgment.yaml", `{"spec":{"decision":"maybe"}}`,
			"spec.decision", `supported values: "approve", "reject", "skip", "rollback", "cancel"`),
		Entry("a judgment naming a gate without a target", "deploy_v1alpha1_judgment.yaml", `{"spec":{"target":null}}`,
			"spec", "gate needs target"),
		Entry("a judgment without deployment", "deploy_v1alpha1_judgment.yaml", `{"spec":{"deploymentName":null}}`,
			"spec.deploymentName", "Required value"),
		Entry("an agent identifier with spaces", "deploy_v1alpha1_agent.yaml", `{"spec":{"agentIdentifier":"my agent"}}`,
			"spec.agentIdentifier", "should match"),
		Entry("a rollout without manifests", "rollout_v1alpha1_rollout.yaml", `{"spec":{"manifests":[]}}`,
			"spec.manifests", "at least 1"),
		Entry("a rollout weight above 100", "rollout_v1alpha1_rollout.yaml", `{"spec":{"strategy":{"canary":{"steps":[{"setWeight":{"weight":150}}]}}}}`,
			"spec.strategy.canary.steps[0].setWeight.weight", "less than or equal to 100"),
		Entry("a user without organization", "iam_v1alpha1_user.yaml", `{"spec":{"organization":null}}`,
			"spec.organization", "Required value"),
		Entry("a user organization that is not a DNS label", "iam_v1alpha1_user.yaml", `{"spec":{"organization":"ACME Corp"}}`,
			"spec.organization", "should match"),
		Entry("a user organization with a hyphen", "iam_v1alpha1_user.yaml", `{"spec":{"organization":"acme-corp"}}`,
			"spec.organization", "should match"),
		Entry("a user email without domain", "iam_v1alpha1_user.yaml", `{"spec":{"email":"jane"}}`,
			"spec.email", "should match"),
		Entry("a user tenant that is not a DNS label", "iam_v1alpha1_user.yaml", `{"spec":{"tenants":[{"environment":"Prod","roles":["deployer"]}]}}`,
			"spec.tenants[0].environment", "should match"),
		Entry("a user tenant named twice", "iam_v1alpha1_user.yaml", `{"spec":{"tenants":[{"environment":"prod"},{"environment":"prod","roles":["deployer"]}]}}`,
			"spec.tenants[1]", "Duplicate value"),
		Entry("a user role given twice", "iam_v1alpha1_user.yaml", `{"spec":{"tenants":[{"environment":"prod","roles":["deployer","deployer"]}]}}`,
			"spec.tenants[0].roles[1]", "Duplicate value"),
	)

	It("refuses a login longer than 63 characters", func(ctx SpecContext) {
		u := readSample(filepath.Join(samplesDir, "iam_v1alpha1_user.yaml"))
		u.SetName(strings.Repeat("j", 64))
		err := k8sClient.Create(ctx, u)
		Expect(err).To(MatchError(ContainSubstring("metadata.name (the login) must be at most 63 characters")))
	})

	It("refuses changes to a Judgment and to immutable identities", func(ctx SpecContext) {
		j := readSample(filepath.Join(samplesDir, "deploy_v1alpha1_judgment.yaml"))
		j.SetNamespace(validationNamespace)
		Expect(k8sClient.Create(ctx, j)).To(Succeed())
		Expect(unstructured.SetNestedField(j.Object, "reject", "spec", "decision")).To(Succeed())
		err := k8sClient.Update(ctx, j)
		Expect(err).To(MatchError(ContainSubstring("a Judgment cannot be changed; create a new one")))

		t := readSample(filepath.Join(samplesDir, "iam_v1alpha1_tenant.yaml"))
		t.SetName("immutable-tenant")
		Expect(k8sClient.Create(ctx, t)).To(Succeed())
		Expect(unstructured.SetNestedField(t.Object, "globex", "spec", "organization")).To(Succeed())
		err = k8sClient.Update(ctx, t)
		Expect(err).To(MatchError(And(ContainSubstring("spec.organization"), ContainSubstring("organization is immutable"))))

		a := readSample(filepath.Join(samplesDir, "deploy_v1alpha1_agent.yaml"))
		a.SetNamespace(validationNamespace)
		Expect(k8sClient.Create(ctx, a)).To(Succeed())
		Expect(unstructured.SetNestedField(a.Object, "prod", "spec", "agentIdentifier")).To(Succeed())
		err = k8sClient.Update(ctx, a)
		Expect(err).To(MatchError(And(ContainSubstring("spec.agentIdentifier"), ContainSubstring("agentIdentifier is immutable"))))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
		Expect(a.Object["spec"]).To(HaveKeyWithValue("agentIdentifier", "staging"), "the refused change lost nothing")

		u := readSample(filepath.Join(samplesDir, "iam_v1alpha1_user.yaml"))
		u.SetName("immutable-user")
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, "globex", "spec", "organization")).To(Succeed())
		err = k8sClient.Update(ctx, u)
		Expect(err).To(MatchError(And(ContainSubstring("spec.organization"), ContainSubstring("organization is immutable"))))
	})
})
