package executor_test

import (
	"context"
	"fmt"
	"slices"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

// servicesYAML is a Service of the application for each name, selecting app=potato-facts.
func servicesYAML(names ...string) string {
	var out string
	for _, n := range names {
		out += fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: %s}
spec:
  selector: {app: %s}
  ports: [{name: http, port: 80, targetPort: 8080}]
`, n, app)
	}
	return out
}

// blueGreenRollout is a Rollout of a blue/green strategy as the agent mirrors it into ns.
func blueGreenRollout(ns, name string, manifests []string, bg deployv1alpha1.BlueGreenStrategy) *rolloutv1alpha1.Rollout {
	r := newRollout(ns, name, manifests)
	r.Spec.StrategyName = "bluegreen"
	r.Spec.Strategy = deployv1alpha1.Strategy{BlueGreen: &bg}
	return r
}

func approvalCondition() deployv1alpha1.BlueGreenCondition {
	return deployv1alpha1.BlueGreenCondition{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}
}

func timedCondition(seconds int32) deployv1alpha1.BlueGreenCondition {
	return deployv1alpha1.BlueGreenCondition{Pause: &deployv1alpha1.PauseStep{Duration: &seconds, Unit: deployv1alpha1.Seconds}}
}

// selectorOf reads a Service's selector.
func selectorOf(ctx context.Context, ns, name string) map[string]string {
	GinkgoHelper()
	svc := &corev1.Service{}
	Expect(k8sClient.Get(ctx, objectKey(ns, name), svc)).To(Succeed())
	return svc.Spec.Selector
}

// pinned is the selector of a Service that sends its traffic to one version.
func pinned(version string) map[string]string {
	return map[string]string{"app": app, executor.VersionLabel: version}
}

// historyRecorder records, in order, the distinct values a watch sees of one object.
type historyRecorder struct {
	mu     sync.Mutex
	values []string
}

// recordHistory watches the objects of a kind in ns and records value(obj) of the one named name
// each time it changes.
func recordHistory(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, value func(*unstructured.Unstructured) string) *historyRecorder {
	GinkgoHelper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	w, err := k8sClient.Watch(ctx, list, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	rec := &historyRecorder{}
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
				u, isU := ev.Object.(*unstructured.Unstructured)
				if !isU || u.GetName() != name {
					continue
				}
				v := value(u)
				rec.mu.Lock()
				if len(rec.values) == 0 || rec.values[len(rec.values)-1] != v {
					rec.values = append(rec.values, v)
				}
				rec.mu.Unlock()
			}
		}
	}()
	return rec
}

func (r *historyRecorder) history() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.values)
}

var serviceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Service"}

// selectedVersion is the version a Service's selector pins, or "(all)".
func selectedVersion(u *unstructured.Unstructured) string {
	v, found, _ := unstructured.NestedString(u.Object, "spec", "selector", executor.VersionLabel)
	if !found {
		return "(all)"
	}
	return v
}
