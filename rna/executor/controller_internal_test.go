package executor

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestRolloutOfWorkload(t *testing.T) {
	g := NewWithT(t)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RolloutAnnotation: "team/deploy-42"}}}
	g.Expect(rolloutOfWorkload(context.Background(), rs)).To(Equal([]reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "team", Name: "deploy-42"}}}))
	rs.Annotations[RolloutAnnotation] = "deploy-42"
	g.Expect(rolloutOfWorkload(context.Background(), rs)).To(BeEmpty())
}

func TestIsPermanent(t *testing.T) {
	g := NewWithT(t)
	gr := schema.GroupResource{Resource: "services"}
	g.Expect(IsPermanent(apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "s", field.ErrorList{}))).To(BeTrue())
	g.Expect(IsPermanent(apierrors.NewForbidden(gr, "s", errors.New("no")))).To(BeTrue())
	g.Expect(IsPermanent(apierrors.NewConflict(gr, "s", errors.New("again")))).To(BeFalse())
	g.Expect(IsPermanent(apierrors.NewServiceUnavailable("later"))).To(BeFalse())
	g.Expect(IsPermanent(apierrors.NewTimeoutError("slow", 1))).To(BeFalse())
}

func TestFormatDuration(t *testing.T) {
	g := NewWithT(t)
	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", 2 * time.Hour: "2h", 45 * time.Second: "45s", 90 * time.Second: "90s", 1500 * time.Millisecond: "1.5s"} {
		g.Expect(formatDuration(d)).To(Equal(want))
	}
}

func TestFirstDeployment(t *testing.T) {
	g := NewWithT(t)
	in := ExecutionInput{Workloads: []WorkloadView{{Name: "a"}, {Name: "b"}}}
	g.Expect(in.FirstDeployment()).To(BeTrue())
	in.Workloads[1].Stable = ObjectRef{Kind: KindReplicaSet, Name: "b-1"}
	g.Expect(in.FirstDeployment()).To(BeFalse())
}
