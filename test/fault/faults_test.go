package fault_test

import (
	"context"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/internal/testcluster"
)

// replicas of every application of the suite.
const replicas = 4

// app is an apps/v1 Deployment manifest of an application at a version.
func app(name, tag string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: ghcr.io/aurora-cd/%[1]s:%[2]s
`, name, tag, replicas)
}

// canaryStep is a step of canary: a number is a setWeight, "pause" waits for a Judgment, "wait:Ns"
// is a timed pause.
func canary(steps ...any) deployv1alpha1.Strategy {
	var out []deployv1alpha1.CanaryStep
	for _, s := range steps {
		switch v := s.(type) {
		case int:
			out = append(out, deployv1alpha1.CanaryStep{SetWeight: &deployv1alpha1.SetWeightStep{Weight: int32(v)}})
		case string:
			if v == "pause" {
				out = append(out, deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}})
				continue
			}
			var secs int32
			_, _ = fmt.Sscanf(v, "wait:%ds", &secs)
			out = append(out, deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{Duration: &secs, Unit: deployv1alpha1.Seconds}})
		}
	}
	return deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: out}}
}

// newDeployment is a Deployment of the application at tag to the target.
func newDeployment(name, application, tag string, strategy deployv1alpha1.Strategy) *deployv1alpha1.Deployment {
	return &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tenantNS},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: application,
			Targets:     map[string]deployv1alpha1.Target{agentID: {Account: agentID, Namespace: application, Strategy: "main"}},
			Manifests:   []deployv1alpha1.Manifest{{Inline: app(application, tag)}},
			Strategies:  map[string]deployv1alpha1.Strategy{"main": strategy},
		},
	}
}

// waitState waits for the Deployment's status word.
func waitState(ctx context.Context, d *deployv1alpha1.Deployment, state deployv1alpha1.DeploymentState, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		g.Expect(d.Status.State).To(Equal(state), describe(d))
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// readyPods counts the Ready pods of an application in the target, by image tag.
func readyPods(ctx context.Context, application string) map[string]int {
	pods := &corev1.PodList{}
	if err := target.Client.List(ctx, pods, client.InNamespace(application), client.MatchingLabels{"app": application}); err != nil {
		return nil
	}
	return testcluster.ReadyPodsByImageTag(pods.Items)
}

// expectPods waits until the target runs exactly these Ready pods per tag.
func expectPods(ctx context.Context, application string, want map[string]int) {
	GinkgoHelper()
	Eventually(func() map[string]int { return readyPods(ctx, application) }).WithContext(ctx).WithTimeout(60 * time.Second).
		WithPolling(100 * time.Millisecond).Should(Equal(want))
}

// cloudRollout reads the cloud Rollout of a Deployment's target.
func cloudRollout(ctx context.Context, d *deployv1alpha1.Deployment) *rolloutv1alpha1.Rollout {
	GinkgoHelper()
	ro := &rolloutv1alpha1.Rollout{}
	Expect(cloudClient.Get(ctx, client.ObjectKey{Namespace: tenantNS, Name: deployment.RolloutName(d.Name, agentID)}, ro)).To(Succeed())
	return ro
}

// startCanary deploys v1 of a fresh application, then v2 as a canary with steps, and waits until
// the target runs both versions: the canary is under way.
func startCanary(ctx context.Context, application string, steps ...any) *deployv1alpha1.Deployment {
	GinkgoHelper()
	v1 := newDeployment(application+"-v1", application, "v1", canary(100))
	Expect(cloudClient.Create(ctx, v1)).To(Succeed())
	waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
	audit.expectExactlyOnce(cloudRollout(ctx, v1))
	v2 := newDeployment(application+"-v2", application, "v2", canary(steps...))
	Expect(cloudClient.Create(ctx, v2)).To(Succeed())
	expectPods(ctx, application, map[string]int{"v1": 3, "v2": 1})
	return v2
}

// finishes checks the end of a canary: the Deployment reaches state, the target runs pods, the cloud
// Rollout's status converged to the target's, and each change was applied once.
func finishes(ctx context.Context, d *deployv1alpha1.Deployment, state deployv1alpha1.DeploymentState, pods map[string]int) {
	GinkgoHelper()
	waitState(ctx, d, state, 3*time.Minute)
	expectPods(ctx, d.Spec.Application, pods)
	ro := cloudRollout(ctx, d)
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		mirrored := &rolloutv1alpha1.RolloutList{}
		g.Expect(target.Client.List(ctx, mirrored, client.HasLabels{rolloutv1alpha1.MirroredLabel})).To(Succeed())
		found := false
		for _, m := range mirrored.Items {
			if m.Annotations[rolloutv1alpha1.CloudUIDAnnotation] == string(ro.UID) {
				found = true
				g.Expect(ro.Status.Phase).To(Equal(m.Status.Phase), "the cloud status converged")
				g.Expect(ro.Status.CurrentStep).To(Equal(m.Status.CurrentStep))
				g.Expect(ro.Status.AppliedGeneration).To(Equal(ro.Generation))
			}
		}
		g.Expect(found).To(BeTrue(), "the target holds the Rollout")
	}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	audit.expectExactlyOnce(ro)
}

// otherReplica is the Hub replica that is not r.
func otherReplica(r *component) *component {
	if r == hubProc {
		return hub1Proc
	}
	return hubProc
}

var _ = Describe("Faults during a canary", Ordered, func() {
	// hubBaselines is what each Hub replica process holds at rest.
	hubBaselines := map[*component]footprint{}
	var rnaBaseline footprint
	var goroutineBaseline int
	// expectNoHubLeak checks both Hub replicas against their baselines.
	expectNoHubLeak := func() {
		GinkgoHelper()
		for _, r := range []*component{hubProc, hub1Proc} {
			expectNoLeak(r, hubBaselines[r])
		}
	}

	BeforeAll(func(ctx SpecContext) {
		By("warming up: one deployment, then measuring what each process holds at rest")
		d := newDeployment("warmup", "warmup", "v1", canary(100))
		Expect(cloudClient.Create(ctx, d)).To(Succeed())
		waitState(ctx, d, deployv1alpha1.StateSucceeded, 2*time.Minute)
		time.Sleep(3 * heartbeat)
		hubBaselines[hubProc], hubBaselines[hub1Proc] = footprintOf(hubProc), footprintOf(hub1Proc)
		rnaBaseline, goroutineBaseline = footprintOf(rnaProc), inProcessGoroutines()
		AddReportEntry("baselines", fmt.Sprintf("hub-0 %+v, hub-1 %+v, rna %+v, test process %d goroutines",
			hubBaselines[hubProc], hubBaselines[hub1Proc], rnaBaseline, goroutineBaseline))
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			for _, c := range []*component{hubProc, hub1Proc, rnaProc} {
				if raw, err := os.ReadFile(c.logPath); err == nil {
					GinkgoWriter.Printf("=== log of %s (last 24 KiB)\n%s\n", c.name, tail(raw, 24<<10))
				}
			}
			return
		}
		Eventually(inProcessGoroutines).WithTimeout(30*time.Second).Should(BeNumerically("<=", goroutineBaseline+goroutineAllowance),
			"goroutines of the test process (controllers, auth service, proxy, watches)")
	})

	It("finishes a canary when the Hub replica holding the agent is killed in the middle and restarted", func(ctx SpecContext) {
		d := startCanary(ctx, "hub-killed", 25, "wait:3s", 50, "wait:3s", 100)
		killed := expectAgentConnected(ctx)
		killed.kill()
		By("the agent re-homes to the other replica while the killed one is down")
		expectAgentConnectedTo(ctx, otherReplica(killed))
		expectPods(ctx, d.Spec.Application, map[string]int{"v1": 2, "v2": 2})
		killed.start()
		finishes(ctx, d, deployv1alpha1.StateSucceeded, map[string]int{"v2": replicas})
		expectNoLeak(rnaProc, rnaBaseline)
		expectNoLeak(otherReplica(killed), hubBaselines[otherReplica(killed)])
		hubBaselines[killed] = footprintOf(killed) // a new process: its own baseline from now on
	})

	It("finishes a canary when the agent is killed in the middle and restarted", func(ctx SpecContext) {
		d := startCanary(ctx, "rna-killed", 25, "wait:2s", 50, "wait:2s", 100)
		rnaProc.kill()
		rnaProc.start()
		expectAgentConnected(ctx)
		finishes(ctx, d, deployv1alpha1.StateSucceeded, map[string]int{"v2": replicas})
		expectNoHubLeak()
		rnaBaseline = footprintOf(rnaProc)
	})

	It("rolls back, as a Judgment asks, a canary whose agent was killed while it waited", func(ctx SpecContext) {
		d := startCanary(ctx, "rna-killed-rollback", 25, "pause", 100)
		Eventually(func(g Gomega) {
			g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
			g.Expect(d.Status.PendingApprovals).NotTo(BeEmpty(), describe(d))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		rnaProc.kill()
		j := &deployv1alpha1.Judgment{
			ObjectMeta: metav1.ObjectMeta{GenerateName: d.Name + "-rollback-", Namespace: tenantNS,
				Annotations: map[string]string{"deploy.aurora.dev/author-admin": "true"}},
			Spec: deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Target: agentID, Gate: "steps[1]",
				Decision: deployv1alpha1.DecisionRollback, Author: "fault@aurora.dev"},
		}
		Expect(cloudClient.Create(ctx, j)).To(Succeed())
		rnaProc.start()
		expectAgentConnected(ctx)
		finishes(ctx, d, deployv1alpha1.StateRolledBack, map[string]int{"v1": replicas})
		expectNoHubLeak()
		rnaBaseline = footprintOf(rnaProc)
	})

	It("finishes a canary across a tunnel blackholed for longer than the heartbeat budget", func(ctx SpecContext) {
		d := startCanary(ctx, "blackholed", 25, "wait:3s", 50, "wait:3s", 100)
		accepted := proxy.Accepted()
		proxy.Blackhole()
		Eventually(func(g Gomega) {
			a := &deployv1alpha1.Agent{}
			g.Expect(cloudClient.Get(ctx, client.ObjectKey{Namespace: tenantNS, Name: agentID}, a)).To(Succeed())
			g.Expect(a.Status.Connected).To(BeFalse())
		}).WithContext(ctx).WithTimeout(30*time.Second).Should(Succeed(), "the Hub drops the silent tunnel")
		time.Sleep(2 * heartbeat)
		proxy.Heal()
		expectAgentConnected(ctx)
		Expect(proxy.Accepted()).To(BeNumerically(">", accepted), "the agent opened a new connection")
		finishes(ctx, d, deployv1alpha1.StateSucceeded, map[string]int{"v2": replicas})
		expectNoHubLeak()
		expectNoLeak(rnaProc, rnaBaseline)
	})

	It("finishes a canary while the cloud API server restarts", func(ctx SpecContext) {
		d := startCanary(ctx, "api-restarted", 25, "wait:3s", 50, "wait:3s", 100)
		Expect(cloud.RestartAPIServer(ctx)).To(Succeed())
		finishes(ctx, d, deployv1alpha1.StateSucceeded, map[string]int{"v2": replicas})
		expectNoHubLeak()
		expectNoLeak(rnaProc, rnaBaseline)
	})

	It("keeps serving through a flood of status updates, and the cloud ends on the last one", func(ctx SpecContext) {
		floodStatuses(ctx)
		By("a canary still finishes")
		d := startCanary(ctx, "after-flood", 25, "wait:1s", 100)
		finishes(ctx, d, deployv1alpha1.StateSucceeded, map[string]int{"v2": replicas})
		expectNoHubLeak()
	})

	It("finishes a canary while its agent moves between two live Hub replicas", func(ctx SpecContext) {
		DeferCleanup(func() { proxy.SetBackends(hubProc.tunnelAddr, hub1Proc.tunnelAddr) })
		d := startCanary(ctx, "moving", 25, "wait:2s", 50, "wait:2s", 75, "wait:2s", 100)
		from := expectAgentConnected(ctx)
		to := otherReplica(from)
		By("the Service sends the agent's next connection to the other replica")
		proxy.SetBackends(to.tunnelAddr, from.tunnelAddr)
		proxy.CutAll()
		expectAgentConnectedTo(ctx, to)
		By("and back again while both replicas run")
		proxy.SetBackends(from.tunnelAddr, to.tunnelAddr)
		proxy.CutAll()
		expectAgentConnectedTo(ctx, from)
		finishes(ctx, d, deployv1alpha1.StateSucceeded, map[string]int{"v2": replicas})
		expectNoHubLeak()
		expectNoLeak(rnaProc, rnaBaseline)
	})
})
