package executor_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

const app = "potato-facts"

// newNamespace creates a namespace for one test.
func newNamespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// deploymentYAML is an apps/v1 Deployment manifest of the application; extraPodSpec is YAML
// indented for the pod spec (such as a nodeSelector).
func deploymentYAML(replicas int, image, extraPodSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: somewhere-else
  labels: {app: %[1]s}
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: %[3]s
        env:
        - {name: GREETING, value: hello}
%[4]s`, app, replicas, image, extraPodSpec)
}

// neverReady makes pods unschedulable, so they stay Pending and never Ready.
const neverReady = "      nodeSelector: {aurora.dev/no-such-node: \"true\"}\n"

func setWeight(w int32) deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{SetWeight: &deployv1alpha1.SetWeightStep{Weight: w}}
}

func pauseUntilApproved() deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}
}

func pauseFor(seconds int32) deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To(seconds), Unit: deployv1alpha1.Seconds}}
}

// newRollout is a Rollout as the agent mirrors it into namespace ns.
func newRollout(ns, name string, manifests []string, steps ...deployv1alpha1.CanaryStep) *rolloutv1alpha1.Rollout {
	if len(steps) == 0 {
		steps = []deployv1alpha1.CanaryStep{setWeight(100)}
	}
	return &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels: map[string]string{rolloutv1alpha1.MirroredLabel: "true"},
			Annotations: map[string]string{
				rolloutv1alpha1.CloudUIDAnnotation:        string(uuid.NewUUID()),
				rolloutv1alpha1.CloudGenerationAnnotation: "1",
				rolloutv1alpha1.CloudNamespaceAnnotation:  "aurora-acme-prod",
			},
		},
		Spec: rolloutv1alpha1.RolloutSpec{
			DeploymentName: name, Application: app, Target: "staging", Account: "staging",
			Namespace: ns, Manifests: manifests, StrategyName: "canary",
			Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: steps}},
		},
	}
}

func withTimeout(r *rolloutv1alpha1.Rollout, seconds int32) *rolloutv1alpha1.Rollout {
	r.Spec.Timeout = &deployv1alpha1.Timeout{Duration: seconds, Unit: deployv1alpha1.Seconds}
	return r
}

// waitForPhase waits until the Rollout reaches one of phases and returns it.
func waitForPhase(ctx context.Context, key client.ObjectKey, timeout time.Duration, phases ...rolloutv1alpha1.Phase) *rolloutv1alpha1.Rollout {
	GinkgoHelper()
	r := &rolloutv1alpha1.Rollout{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
		g.Expect(r.Status.Phase).To(BeElementOf(phases), "message: %s", r.Status.Message)
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(50 * time.Millisecond).Should(Succeed())
	return r
}

// decide appends a decision to the Rollout's spec, as the cloud does when a Judgment arrives.
func decide(ctx context.Context, key client.ObjectKey, name, gate string, d deployv1alpha1.Decision) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r := &rolloutv1alpha1.Rollout{}
		if err := k8sClient.Get(ctx, key, r); err != nil {
			return err
		}
		r.Spec.Decisions = append(r.Spec.Decisions, rolloutv1alpha1.RolloutDecision{Name: name, Gate: gate, Decision: d})
		return k8sClient.Update(ctx, r)
	})).To(Succeed())
}

// podCount counts the pods of a version that are not terminating, and the Ready ones.
type podCount struct{ Total, Ready int }

func podsOf(ctx context.Context, ns, version string) podCount {
	GinkgoHelper()
	var pods corev1.PodList
	Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{executor.VersionLabel: version})).To(Succeed())
	var c podCount
	for _, p := range pods.Items {
		if !p.DeletionTimestamp.IsZero() {
			continue
		}
		c.Total++
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				c.Ready++
			}
		}
	}
	return c
}

// deployFirstVersion runs a first deployment of replicas pods and returns its version.
func deployFirstVersion(ctx context.Context, ns string, replicas int, image string) string {
	GinkgoHelper()
	r := newRollout(ns, "first", []string{deploymentYAML(replicas, image, "")})
	Expect(k8sClient.Create(ctx, r)).To(Succeed())
	r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
	Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).WithContext(ctx).
		Should(Equal(podCount{Total: replicas, Ready: replicas}))
	return r.Status.CanaryRevision
}

// kstatusOf computes the kstatus of an object.
func kstatusOf(obj client.Object) status.Status {
	GinkgoHelper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

func conditionReason(r *rolloutv1alpha1.Rollout, t string) string {
	c := apimeta.FindStatusCondition(r.Status.Conditions, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

// replicaSetEvent is one observed state of a ReplicaSet.
type replicaSetEvent struct {
	Name                  string
	Spec, Replicas, Ready int32
	Deleted               bool
}

// replicaSetRecorder records, in order, the states of the ReplicaSets of a namespace.
type replicaSetRecorder struct {
	mu     sync.Mutex
	events []replicaSetEvent
}

func recordReplicaSets(ctx context.Context, ns string) *replicaSetRecorder {
	GinkgoHelper()
	w, err := k8sClient.Watch(ctx, &appsv1.ReplicaSetList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	rec := &replicaSetRecorder{}
	go func() {
		defer GinkgoRecover()
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				rs, isRS := ev.Object.(*appsv1.ReplicaSet)
				if !isRS {
					continue
				}
				rec.mu.Lock()
				rec.events = append(rec.events, replicaSetEvent{Name: rs.Name, Spec: ptr.Deref(rs.Spec.Replicas, 1),
					Replicas: rs.Status.Replicas, Ready: rs.Status.ReadyReplicas, Deleted: ev.Type == "DELETED"})
				rec.mu.Unlock()
			}
		}
	}()
	return rec
}

// split is a state of two versions: the new one's replicas and Ready pods, the stable one's
// replicas and pods.
type split struct{ NewSpec, NewReady, StableSpec, StablePods int32 }

// splits replays the recorded events and returns the successive states of the two versions.
func (rec *replicaSetRecorder) splits(newVersion, stableVersion string) []split {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var cur split
	var out []split
	for _, e := range rec.events {
		switch e.Name {
		case newVersion:
			cur.NewSpec, cur.NewReady = e.Spec, e.Ready
		case stableVersion:
			cur.StableSpec, cur.StablePods = e.Spec, e.Replicas
			if e.Deleted {
				cur.StableSpec, cur.StablePods = 0, 0
			}
		default:
			continue
		}
		if len(out) == 0 || out[len(out)-1] != cur {
			out = append(out, cur)
		}
	}
	return out
}

func reportDuration(what string, d time.Duration) {
	d = d.Round(time.Millisecond)
	GinkgoWriter.Printf("%s: %s\n", what, d)
	AddReportEntry(what, d.String(), ReportEntryVisibilityAlways)
}

// objectKey returns the key of a namespaced object.
func objectKey(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
