package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/testcluster"
)

// app is an apps/v1 Deployment manifest of potato-facts with an image tag; a version whose pods
// never become Ready asks for a node that does not exist.
func app(name, tag string, replicas int, neverReady bool) string {
	nodeSelector := ""
	if neverReady {
		nodeSelector = "\n      nodeSelector: {aurora.dev/no-such-node: \"true\"}"
	}
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
    spec:%[4]s
      containers:
        - name: app
          image: ghcr.io/aurora-cd/%[1]s:%[2]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config
data:
  version: %[2]s
`, name, tag, replicas, nodeSelector)
}

// canary builds canary steps: a number is a setWeight, "pause" waits for approval, "wait:Ns" is a
// timed pause.
func canary(steps ...any) deployv1alpha1.Strategy {
	var out []deployv1alpha1.CanaryStep
	for _, s := range steps {
		switch v := s.(type) {
		case int:
			out = append(out, deployv1alpha1.CanaryStep{SetWeight: &deployv1alpha1.SetWeightStep{Weight: int32(v)}})
		case string:
			if v == "pause" {
				out = append(out, deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}})
			} else {
				var secs int32
				_, _ = fmt.Sscanf(v, "wait:%ds", &secs)
				out = append(out, deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{Duration: &secs, Unit: deployv1alpha1.Seconds}})
			}
		}
	}
	return deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: out}}
}

// deployment is a Deployment of the application to the given targets (each "name" or
// "name<dep" for a dependency), all with one strategy.
func deployment(name, application, manifest string, strategy deployv1alpha1.Strategy, targets ...string) *deployv1alpha1.Deployment {
	d := &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: env.TenantNamespace},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: application,
			Targets:     map[string]deployv1alpha1.Target{},
			Manifests:   []deployv1alpha1.Manifest{{Inline: manifest}},
			Strategies:  map[string]deployv1alpha1.Strategy{"main": strategy},
		},
	}
	for _, t := range targets {
		tgt, dep, _ := strings.Cut(t, "<")
		target := deployv1alpha1.Target{Account: tgt, Namespace: application, Strategy: "main"}
		if dep != "" {
			target.Constraints = &deployv1alpha1.Constraints{DependsOn: []string{dep}}
		}
		d.Spec.Targets[tgt] = target
	}
	return d
}

// waitState waits for the Deployment's status word.
func waitState(ctx context.Context, d *deployv1alpha1.Deployment, state deployv1alpha1.DeploymentState, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(env.CloudClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		g.Expect(d.Status.State).To(Equal(state), "targets: %+v", d.Status.Targets)
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// targetStatus returns the Deployment's status of one target.
func targetStatus(d *deployv1alpha1.Deployment, name string) deployv1alpha1.TargetStatus {
	for _, t := range d.Status.Targets {
		if t.Name == name {
			return t
		}
	}
	return deployv1alpha1.TargetStatus{}
}

// readyPodsByImage counts the Ready pods of an application in a target, by image tag.
func readyPodsByImage(ctx context.Context, target, application string) map[string]int {
	GinkgoHelper()
	pods := &corev1.PodList{}
	Expect(env.Targets[target].Client.List(ctx, pods, client.InNamespace(application), client.MatchingLabels{"app": application})).To(Succeed())
	return testcluster.ReadyPodsByImageTag(pods.Items)
}

// expectPods waits until the target runs exactly the given Ready pods per image tag.
func expectPods(ctx context.Context, target, application string, want map[string]int) {
	GinkgoHelper()
	Eventually(func() map[string]int { return readyPodsByImage(ctx, target, application) }).
		WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(want))
}

// judge creates a Judgment on a Deployment.
func judge(ctx context.Context, d *deployv1alpha1.Deployment, target, gate string, decision deployv1alpha1.Decision) {
	GinkgoHelper()
	j := &deployv1alpha1.Judgment{
		ObjectMeta: metav1.ObjectMeta{GenerateName: d.Name + "-" + string(decision) + "-", Namespace: d.Namespace,
			Annotations: map[string]string{"deploy.aurora.dev/author-admin": "true"}},
		Spec: deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Target: target, Gate: gate, Decision: decision, Author: "e2e@aurora.dev"},
	}
	Expect(env.CloudClient.Create(ctx, j)).To(Succeed())
}

// waitPending waits until the Deployment lists a pending approval of the target and gate.
func waitPending(ctx context.Context, d *deployv1alpha1.Deployment, target, gate string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(env.CloudClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		g.Expect(d.Status.PendingApprovals).To(ContainElement(And(HaveField("Target", target), HaveField("Gate", gate))),
			"state %s, targets %+v", d.Status.State, d.Status.Targets)
	}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
}
