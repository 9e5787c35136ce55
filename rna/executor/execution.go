package executor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// execution is one pass over a Rollout: its parsed spec and what the pass found and did.
type execution struct {
	r       *Reconciler
	rollout *rolloutv1alpha1.Rollout
	now     time.Time
	log     logr.Logger

	namespace string
	id        Identity
	manifests *Manifests
	// refusal, when set, is why the spec cannot run.
	refusal error
	// versions are the new version of each workload, in manifest order.
	versions []string
	// desired is versions joined: status.canaryRevision of the execution the spec asks for.
	desired string
	timeout time.Duration
	// traffic is how the execution routes traffic (blue/green Services, SMI, Istio).
	traffic TrafficConfig
	// selectors are the selectors of the Services it switches, read before it first changed them.
	selectors map[string]map[string]string
}

func newExecution(r *Reconciler, rollout *rolloutv1alpha1.Rollout) *execution {
	x := &execution{
		r:         r,
		rollout:   rollout,
		now:       r.now(),
		namespace: rollout.Spec.Namespace,
		id:        IdentityOf(rollout),
		timeout:   TimeoutOf(&rollout.Spec),
	}
	if x.namespace == "" {
		x.namespace = rollout.Namespace
	}
	x.log = ctrl.Log.WithName("rollout-executor").WithValues("rollout", types.NamespacedName{Namespace: rollout.Namespace, Name: rollout.Name},
		"deployment", rollout.Spec.DeploymentName, "generation", rollout.Generation)
	if x.refusal = NotYetSupported(rollout.Spec.Strategy); x.refusal != nil {
		return x
	}
	if x.refusal = CheckTraffic(&rollout.Spec); x.refusal != nil {
		return x
	}
	x.traffic = TrafficConfigOf(&rollout.Spec)
	if x.manifests, x.refusal = ParseManifests(rollout.Spec.Manifests, x.namespace); x.refusal != nil {
		return x
	}
	uid := rollout.Annotations[rolloutv1alpha1.CloudUIDAnnotation]
	if uid == "" {
		uid = string(rollout.UID)
	}
	fingerprint := ExecutionFingerprint(&rollout.Spec)
	for _, w := range x.manifests.Workloads {
		x.versions = append(x.versions, VersionName(w.Name, fingerprint, uid))
	}
	x.desired = joinRevisions(x.versions)
	return x
}

// stage is where a pass goes next.
type stage struct {
	result ctrl.Result
	err    error
	// again runs the pass's loop once more (a rollback began or ended in a restart).
	again bool
}

// run takes the Rollout as far as it can go in this pass.
func (x *execution) run(ctx context.Context) (ctrl.Result, error) {
	for range 4 {
		var s stage
		if rb, ok := rollingBack(&x.rollout.Status); ok {
			s = x.rollBack(ctx, rb)
		} else if st := &x.rollout.Status; st.CanaryRevision != "" && (x.refusal != nil || st.CanaryRevision != x.desired) {
			why := fmt.Sprintf("the Rollout's spec changed at generation %d", x.rollout.Generation)
			x.log.Info("Rolling back the running version to start again", "running", st.CanaryRevision, "desired", x.desired)
			x.r.event(x.rollout, corev1.EventTypeNormal, ReasonRestarting, "RollBack", why+": rolling back "+st.CanaryRevision)
			setRollingBack(x.rollout, ReasonRestarting, why, x.now)
			s.again = true
		} else if x.refusal != nil {
			x.refuse()
		} else {
			s = x.execute(ctx)
		}
		if !s.again || s.err != nil {
			return s.result, s.err
		}
	}
	return ctrl.Result{RequeueAfter: requeueMargin}, nil
}

// refuse ends a Rollout that cannot run, before anything is applied.
func (x *execution) refuse() {
	msg := x.refusal.Error()
	x.log.Info("Refusing the Rollout", "reason", msg)
	x.r.event(x.rollout, corev1.EventTypeWarning, ReasonUnsupported, "Refuse", msg)
	t := metav1.NewTime(x.now)
	x.rollout.Status.Phase = rolloutv1alpha1.PhaseFailed
	x.rollout.Status.Message = msg
	x.rollout.Status.FinishedAt = &t
	x.rollout.Status.WaitingFor = ""
	meta.MarkStalled(x.rollout, ReasonUnsupported, msg)
}

// execute runs the steps of the execution the spec asks for.
func (x *execution) execute(ctx context.Context) stage {
	if gates := BeforeDeploymentConditions(x.rollout.Spec.BeforeDeploymentWebhooks); len(gates) > 0 && x.rollout.Status.StartedAt == nil {
		if s, stop := x.beforeDeployment(ctx, gates); stop {
			return s
		}
	}
	views, objs, err := x.observe(ctx)
	if err != nil {
		return stage{err: err}
	}
	// The start is the one kept on the new versions (to the nanosecond), else the status's, else now.
	startedAt := time.Time{}
	for _, v := range views {
		if v.State != nil && !v.State.StartedAt.IsZero() && (startedAt.IsZero() || v.State.StartedAt.Before(startedAt)) {
			startedAt = v.State.StartedAt
		}
	}
	if s := x.rollout.Status.StartedAt; startedAt.IsZero() && s != nil && x.rollout.Status.CanaryRevision == x.desired {
		startedAt = s.Time
	}
	if startedAt.IsZero() {
		startedAt = x.now
	}
	in := ExecutionInput{Now: x.now, StartedAt: startedAt, Timeout: x.timeout, Decisions: strategyDecisions(x.rollout.Spec.Decisions), Workloads: views}
	in.Plan = PlanSteps(x.rollout.Spec.Strategy, in.FirstDeployment())
	in.SplitTraffic = x.traffic.SplitsTraffic()
	bluegreen := x.rollout.Spec.Strategy.BlueGreen != nil
	var bgPlan BlueGreenPlan
	if bluegreen {
		after := AfterDeploymentConditions(x.rollout.Spec.AfterDeployment, x.rollout.Spec.AfterDeploymentWebhooks)
		bgPlan = PlanBlueGreen(x.rollout.Spec.Strategy.BlueGreen, in.FirstDeployment(), after)
		in.Plan = bgPlan.Steps
	} else {
		in.Plan = append(in.Plan, AfterDeploymentSteps(x.rollout.Spec.AfterDeployment, x.rollout.Spec.AfterDeploymentWebhooks)...)
	}
	total := int32(len(in.Plan))

	if st := &x.rollout.Status; st.StartedAt == nil || st.CanaryRevision != x.desired {
		stable := make([]string, 0, len(views))
		for _, v := range views {
			if v.StableObserved != nil {
				stable = append(stable, v.StableObserved.Version)
			}
		}
		setStarted(x.rollout, x.desired, joinRevisions(stable), total, startedAt)
		msg := fmt.Sprintf("new version %s", orNone(x.desired))
		if s := x.rollout.Status.StableRevision; s != "" {
			msg += " replaces " + s
		} else {
			msg += ", a first deployment"
		}
		x.log.Info("Starting", "canary", x.desired, "stable", x.rollout.Status.StableRevision, "steps", total)
		x.r.event(x.rollout, corev1.EventTypeNormal, "Started", "Start", msg)
		meta.MarkReconciling(x.rollout, meta.ProgressingReason, "starting: "+msg)
	}

	x.stepInputs(&in)

	if slices.ContainsFunc(views, func(v WorkloadView) bool { return v.New == nil }) {
		if err := x.applyObjects(ctx); err != nil {
			return x.applyFailed(err, startedAt)
		}
	}

	var act Action
	if bluegreen {
		act = NextBlueGreenAction(ctx, in, bgPlan, DefaultConditionRunners())
		previous := x.rollout.Status.BlueGreen
		x.rollout.Status.BlueGreen = blueGreenStatus(act, x.rollout.Status.StableRevision, x.desired)
		keepPassedMessages(previous, x.rollout.Status.BlueGreen)
	} else {
		act = NextAction(in)
	}
	x.recordWebhookUpdates(act.WebhookUpdates)
	for _, name := range act.Discarded {
		x.log.Info("Discarding a decision that nothing waits for", "decision", name)
		x.r.event(x.rollout, corev1.EventTypeNormal, "DecisionDiscarded", "Decide", fmt.Sprintf("decision %s: nothing it applies to waits", name))
	}
	for _, d := range act.Acted {
		x.log.Info("Acting on a decision", "decision", d.Name, "kind", d.Decision, "gate", d.Gate, "step", d.Step)
		x.r.event(x.rollout, corev1.EventTypeNormal, "DecisionApplied", "Decide", fmt.Sprintf("decision %s (%s) at step %d", d.Name, d.Decision, d.Step))
	}
	switch act.Outcome {
	case OutcomeRollBack, OutcomeCancel:
		reason := ReasonRollingBack
		if act.Outcome == OutcomeCancel {
			reason = ReasonCancelling
		}
		x.log.Info("Rolling back", "reason", act.Message)
		x.r.event(x.rollout, corev1.EventTypeWarning, reason, "RollBack", act.Message)
		setRollingBack(x.rollout, reason, act.Message, x.now)
		return stage{again: true}
	}
	if bluegreen {
		x.expose(ctx, blueGreenExposures(bgPlan, act.State.Step), &act)
	} else {
		x.expose(ctx, canaryExposures(in.Plan, act.State.Step), &act)
	}
	for _, s := range act.Started {
		x.log.Info("Step started", "step", s.Gate(), "kind", s.Kind, "weight", s.Weight)
		x.r.event(x.rollout, corev1.EventTypeNormal, "StepStarted", "Step", fmt.Sprintf("%s %s at weight %d%%", stepName(s), s.Kind, s.Weight))
	}

	newVersion := slices.ContainsFunc(views, func(v WorkloadView) bool { return v.New == nil })
	pass := trafficPass{weight: TrafficWeight(in.Plan, act), final: act.Outcome == OutcomeFinalize, first: in.FirstDeployment(), record: newVersion}
	if err := x.routeTraffic(ctx, objs, pass); err != nil {
		return x.applyFailed(err, startedAt)
	}
	if err := x.enforce(ctx, views, objs, act, startedAt); err != nil {
		return x.applyFailed(err, startedAt)
	}
	newVersions, stableVersions := observations(views)
	if act.Outcome == OutcomeFinalize {
		done, err := x.finalize(ctx, views, objs)
		if err != nil {
			return x.applyFailed(err, startedAt)
		}
		setRunning(x.rollout, act, total)
		setCounts(x.rollout, newVersions, nil)
		if !done {
			x.rollout.Status.Message = "finishing: replacing the previous version"
			return stage{result: ctrl.Result{RequeueAfter: deletionPoll}}
		}
		msg := fmt.Sprintf("new version %s runs at 100%%", orNone(x.desired))
		x.log.Info("Succeeded", "canary", x.desired)
		x.r.event(x.rollout, corev1.EventTypeNormal, "Succeeded", "Finish", msg)
		setFinished(x.rollout, rolloutv1alpha1.PhaseSucceeded, msg, x.now)
		return stage{}
	}
	setRunning(x.rollout, act, total)
	setCounts(x.rollout, newVersions, stableVersions)
	if x.runDueCalls(ctx, act, startedAt) {
		return stage{result: ctrl.Result{RequeueAfter: requeueMargin}}
	}
	return stage{result: ctrl.Result{RequeueAfter: x.requeue(act.RequeueAfter)}}
}

// applyFailed rolls back after an apply the API server refused for good, or once the timeout has
// passed since the start; other failures are retried.
func (x *execution) applyFailed(err error, startedAt time.Time) stage {
	ae, ok := asApplyError(err)
	if !ok || (!IsPermanent(ae.Err) && x.now.Sub(startedAt) < x.timeout) {
		meta.MarkNotReady(x.rollout, meta.ProgressingWithRetryReason, err.Error())
		return stage{err: err}
	}
	x.log.Info("Rolling back after a failed apply", "error", err.Error())
	x.r.event(x.rollout, corev1.EventTypeWarning, ReasonRollingBack, "RollBack", err.Error())
	setRollingBack(x.rollout, ReasonRollingBack, err.Error(), x.now)
	return stage{again: true}
}

// enforce writes each workload's split and the execution state: it creates the new version (after
// freezing an HPA that scales the workload) or updates it, then scales the stable version.
func (x *execution) enforce(ctx context.Context, views []WorkloadView, objs []*workloadObjects, act Action, startedAt time.Time) error {
	for i, w := range x.manifests.Workloads {
		v, o, split := views[i], objs[i], act.Splits[i]
		state := WorkloadState{
			StartedAt: startedAt, Step: act.State.Step, StepStartedAt: act.State.StepStartedAt, Decisions: act.State.Decisions,
			Stable: v.Stable, StableReplicas: v.StableReplicas, FullReplicas: v.FullReplicas, Role: roleCanary,
			Passed: act.State.Passed, Selectors: x.selectors,
		}
		if v.State != nil {
			state.HPA, state.Role, state.Selectors = v.State.HPA, v.State.Role, v.State.Selectors
		}
		if o.newRS == nil {
			if o.hpa != nil {
				frozen, err := FreezeHPA(o.hpa)
				if err != nil {
					return err
				}
				state.HPA = frozen
			}
			rs := VersionReplicaSet(w, x.id, v.Version, split.New, state)
			if err := x.createVersion(ctx, rs); err != nil {
				return err
			}
			x.log.Info("Created version", "version", v.Version, "replicas", split.New, "stable", v.Stable.String(), "full", v.FullReplicas)
			if o.hpa != nil {
				x.log.Info("Freezing HPA for the Rollout", "hpa", o.hpa.Name)
				if err := x.remove(ctx, o.hpa); err != nil {
					return err
				}
			}
		} else {
			if o.hpa != nil && state.Role == roleCanary {
				x.log.Info("Freezing HPA again: it came back while the Rollout runs", "hpa", o.hpa.Name)
				if err := x.remove(ctx, o.hpa); err != nil {
					return err
				}
			}
			annotations := state.Annotations()
			annotations[RolloutAnnotation] = x.id.Rollout
			if err := x.updateVersion(ctx, o.newRS, split.New, annotations); err != nil {
				return err
			}
		}
		if o.stable != nil {
			if err := x.scale(ctx, o.stable, split.Stable); err != nil {
				return err
			}
		}
	}
	return nil
}

// finalize makes each new version the stable one: marked stable (from then on the execution only
// goes forward), every other version of the workload removed, the kept Deployment handed the new
// version (keepDeploymentObject), the HPA back on the version that runs. It reports false while a
// replaced Deployment is still going away.
func (x *execution) finalize(ctx context.Context, views []WorkloadView, objs []*workloadObjects) (bool, error) {
	done := true
	for i, w := range x.manifests.Workloads {
		v, o := views[i], objs[i]
		rs := o.newRS
		if rs == nil {
			return false, fmt.Errorf("finishing %s: version %s is missing", w.Name, v.Version)
		}
		if err := x.updateVersion(ctx, rs, ptr.Deref(rs.Spec.Replicas, 1), map[string]string{RoleAnnotation: roleStable}); err != nil {
			return false, err
		}
		for j := range o.versions {
			if err := x.remove(ctx, &o.versions[j]); err != nil {
				return false, err
			}
			x.log.Info("Removed previous version", "version", o.versions[j].Name)
		}
		if d := o.deployment; d != nil && d.Spec.Template.Labels[VersionLabel] != v.Version {
			if d.DeletionTimestamp.IsZero() {
				if err := x.remove(ctx, d); err != nil {
					return false, err
				}
				x.log.Info("Removed the Deployment of the previous version", "deployment", d.Name)
			}
			done = false
			continue
		}
		target := ObjectRef{Kind: KindReplicaSet, Name: v.Version}
		if x.rollout.Spec.KeepDeploymentObject {
			target = ObjectRef{Kind: KindDeployment, Name: w.Name}
			if o.deployment == nil {
				if err := x.handOver(ctx, w, v, rs); err != nil {
					return false, err
				}
			}
		}
		if err := x.thawHPA(ctx, w, v, target); err != nil {
			return false, err
		}
	}
	return done, nil
}

// handOver gives the new version's ReplicaSet to an apps/v1 Deployment of the manifest's name: the
// ReplicaSet gets the labels the Deployment selects, then the Deployment is applied with the same
// pod template, so that its controller adopts the ReplicaSet and its pods instead of making new ones.
func (x *execution) handOver(ctx context.Context, w Workload, v WorkloadView, rs *appsv1.ReplicaSet) error {
	base := rs.DeepCopy()
	for k, val := range HandoverLabels(rs) {
		if rs.Labels == nil {
			rs.Labels = map[string]string{}
		}
		rs.Labels[k] = val
	}
	if err := x.r.Client.Patch(ctx, rs, client.MergeFrom(base), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("labelling version %s for Deployment %s: %w", rs.Name, w.Name, err)
	}
	d := HandoverDeployment(w, x.id, v.Version, rs.Spec.Template, ptr.To(v.FullReplicas))
	if err := x.applyTyped(ctx, d); err != nil {
		return err
	}
	x.log.Info("Handed the new version over to the kept Deployment", "deployment", w.Name, "version", v.Version)
	return nil
}

// thawHPA applies the manifests' HPA of the workload, or brings back the frozen one, scaling target.
func (x *execution) thawHPA(ctx context.Context, w Workload, v WorkloadView, target ObjectRef) error {
	var hpa *unstructured.Unstructured
	switch {
	case w.HPA != nil:
		u, err := RetargetHPA(w.HPA, x.namespace, target)
		if err != nil {
			return err
		}
		hpa = u
	case v.State != nil && v.State.HPA != "":
		u, err := ThawHPA(v.State.HPA, x.namespace, target)
		if err != nil {
			return err
		}
		hpa = u
	default:
		return nil
	}
	return x.apply(ctx, hpa)
}

// rollBack takes a rollback one pass further: stable versions back to their replicas and Ready,
// then the new versions removed and the frozen HPAs back, then the final phase (or, for a restart,
// a fresh status for the new execution).
func (x *execution) rollBack(ctx context.Context, rb rollbackState) stage {
	var views []RollbackView
	var newRSs []*appsv1.ReplicaSet
	var states []*WorkloadState
	var stables []client.Object
	for _, name := range splitRevisions(x.rollout.Status.CanaryRevision) {
		rs := &appsv1.ReplicaSet{}
		switch err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: name}, rs); {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return stage{err: fmt.Errorf("reading version %s: %w", name, err)}
		}
		state, err := ParseWorkloadState(rs.Annotations)
		if err != nil {
			return stage{err: fmt.Errorf("reading the state of version %s: %w", name, err)}
		}
		if state.Role == roleStable || !rs.DeletionTimestamp.IsZero() {
			continue // finalized (the stable one now) or going away
		}
		view := RollbackView{Name: rs.Annotations[WorkloadLabel], New: ReplicaSetObservation(rs), Stable: state.Stable, StableReplicas: state.StableReplicas}
		stable, err := x.get(ctx, state.Stable)
		if err != nil {
			return stage{err: err}
		}
		switch s := stable.(type) {
		case *appsv1.ReplicaSet:
			view.StableObserved = ReplicaSetObservation(s)
		case *appsv1.Deployment:
			view.StableObserved = DeploymentObservation(s)
		}
		views, newRSs, states, stables = append(views, view), append(newRSs, rs), append(states, &state), append(stables, stable)
	}

	plan := PlanRollback(x.now, rb.since, x.timeout, views)
	for i := range views {
		if stables[i] != nil {
			if err := x.scale(ctx, stables[i], views[i].StableReplicas); err != nil {
				return stage{err: err}
			}
		}
	}
	var newVersions, stableVersions []*VersionObservation
	for _, v := range views {
		newVersions, stableVersions = append(newVersions, v.New), append(stableVersions, v.StableObserved)
	}
	setCounts(x.rollout, newVersions, stableVersions)
	if plan.Failed {
		x.log.Info("Rollback failed", "reason", plan.Message)
		x.r.event(x.rollout, corev1.EventTypeWarning, ReasonRollbackFailed, "RollBack", plan.Message)
		setFinished(x.rollout, rolloutv1alpha1.PhaseFailed, plan.Message+" (rolling back because "+rb.why+")", x.now)
		return stage{}
	}
	if plan.RemoveNew {
		selectors := map[string]map[string]string{}
		for _, s := range states {
			maps.Copy(selectors, s.Selectors)
		}
		if err := x.restoreTraffic(ctx, selectors); err != nil {
			return stage{err: err}
		}
		if bg := x.rollout.Status.BlueGreen; bg != nil {
			bg.ActiveVersion = x.rollout.Status.StableRevision
		}
		for i, rs := range newRSs {
			if states[i].HPA != "" {
				u, err := ThawHPA(states[i].HPA, x.namespace, ObjectRef{})
				if err != nil {
					return stage{err: err}
				}
				if err := x.apply(ctx, u); err != nil {
					return stage{err: err}
				}
			}
			if err := x.remove(ctx, rs); err != nil {
				return stage{err: err}
			}
			x.log.Info("Removed new version", "version", rs.Name)
		}
		plan.Done = true
		setCounts(x.rollout, nil, stableVersions)
	}
	if !plan.Done {
		x.rollout.Status.Message = plan.Message
		return stage{result: ctrl.Result{RequeueAfter: x.requeue(plan.RequeueAfter)}}
	}
	switch rb.reason {
	case ReasonRestarting:
		x.log.Info("Rolled back the previous execution; starting again")
		setRestarting(x.rollout, rb.why)
		return stage{again: true}
	case ReasonCancelling:
		x.r.event(x.rollout, corev1.EventTypeWarning, ReasonCancelled, "RollBack", rb.why)
		setFinished(x.rollout, rolloutv1alpha1.PhaseCancelled, rb.why, x.now)
	default:
		x.r.event(x.rollout, corev1.EventTypeWarning, ReasonRolledBack, "RollBack", rb.why)
		setFinished(x.rollout, rolloutv1alpha1.PhaseRolledBack, rb.why, x.now)
	}
	x.log.Info("Rolled back", "phase", x.rollout.Status.Phase, "reason", rb.why)
	return stage{}
}

// get reads the workload ref names; nil when it is zero, gone or being deleted.
func (x *execution) get(ctx context.Context, ref ObjectRef) (client.Object, error) {
	var obj client.Object
	switch ref.Kind {
	case KindReplicaSet:
		obj = &appsv1.ReplicaSet{}
	case KindDeployment:
		obj = &appsv1.Deployment{}
	default:
		return nil, nil
	}
	switch err := x.r.Client.Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: ref.Name}, obj); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return nil, nil
	}
	return obj, nil
}

// requeue bounds a timed requeue by the resync interval; zero means the resync interval.
func (x *execution) requeue(after time.Duration) time.Duration {
	if after <= 0 || after+requeueMargin > x.r.resync() {
		return x.r.resync()
	}
	return after + requeueMargin
}

func observations(views []WorkloadView) (newVersions, stableVersions []*VersionObservation) {
	for _, v := range views {
		newVersions, stableVersions = append(newVersions, v.New), append(stableVersions, v.StableObserved)
	}
	return newVersions, stableVersions
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func orFinal(gate string) string {
	if gate == "" {
		return "final step"
	}
	return gate
}
