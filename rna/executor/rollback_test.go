package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestPlanRollback(t *testing.T) {
	stableRef := ObjectRef{Kind: KindReplicaSet, Name: "app-old"}
	obs := func(name string, spec, replicas, ready int32) *VersionObservation {
		return &VersionObservation{Ref: ObjectRef{Kind: KindReplicaSet, Name: name}, Version: name, SpecReplicas: spec, Replicas: replicas, ReadyReplicas: ready, Synced: true}
	}
	view := func(newObs, stableObs *VersionObservation) RollbackView {
		v := RollbackView{Name: "app", New: newObs, Stable: stableRef, StableObserved: stableObs, StableReplicas: 10}
		if stableObs == nil {
			v.Stable = ObjectRef{}
		}
		return v
	}
	scaleBack := []ScaleTarget{{Workload: "app", Ref: stableRef, Replicas: 10}}
	tests := []struct {
		name  string
		now   time.Time
		views []RollbackView
		want  RollbackPlan
	}{
		{"scale the stable version back and wait", t0.Add(time.Second), []RollbackView{view(obs("app-new", 5, 5, 2), obs("app-old", 5, 5, 5))},
			RollbackPlan{Scale: scaleBack, Message: "rolling back: waiting for stable version app-old: 5/10 Ready", RequeueAfter: 29 * time.Second}},
		{"stable Ready again: remove the new version", t0.Add(time.Second), []RollbackView{view(obs("app-new", 5, 5, 2), obs("app-old", 10, 10, 10))},
			RollbackPlan{Scale: scaleBack, RemoveNew: true, Message: "rolling back: removing the new versions"}},
		{"new version gone: done", t0.Add(time.Second), []RollbackView{view(nil, obs("app-old", 10, 10, 10))},
			RollbackPlan{Scale: scaleBack, Done: true}},
		{"a first deployment removes the new version at once", t0, []RollbackView{view(obs("app-new", 3, 3, 0), nil)},
			RollbackPlan{RemoveNew: true, Message: "rolling back: removing the new versions"}},
		{"nothing left", t0, nil, RollbackPlan{Done: true}},
		{"the stable version does not come back", t0.Add(31 * time.Second), []RollbackView{view(obs("app-new", 5, 5, 5), obs("app-old", 10, 10, 4))},
			RollbackPlan{Scale: scaleBack, Failed: true, Message: "could not roll back: stable version app-old not Ready within 30s: 4/10 Ready"}},
		{"every workload together", t0.Add(time.Second), []RollbackView{
			view(obs("app-new", 5, 5, 5), obs("app-old", 10, 10, 10)),
			{Name: "api", New: obs("api-new", 1, 1, 1), Stable: ObjectRef{Kind: KindDeployment, Name: "api"}, StableObserved: obs("api", 2, 2, 1), StableReplicas: 2},
		}, RollbackPlan{Scale: append(scaleBack, ScaleTarget{Workload: "api", Ref: ObjectRef{Kind: KindDeployment, Name: "api"}, Replicas: 2}),
			Message: "rolling back: waiting for stable version api: 1/2 Ready", RequeueAfter: 29 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(PlanRollback(tt.now, t0, 30*time.Second, tt.views)).To(Equal(tt.want))
		})
	}
}
