// Package deployment reconciles Deployments (deploy.aurora.dev): each is one run of a deploy.yml.
// The controller validates what the CRD schema cannot (Validate), admits one deployment in flight
// per application and tenant namespace (queue.go), plans the targets' DAG and gates (PlanTargets),
// creates one Rollout per target (rollout.go), passes accepted Judgments down to the Rollouts and
// aggregates the Rollouts' status, which the agents' executors write, into the Deployment's status
// (status.go).
//
// Judgments: the Judgment controller decides whether a Judgment is accepted and binds it to
// targets and gates (status.appliedTo); this controller is the one place that carries accepted
// Judgments out. It derives every gate's outcome from the accepted Judgments on each reconcile and
// appends decisions to a Rollout's spec.decisions keyed by the Judgment's name, so a decision is
// applied exactly once however often it reconciles or restarts.
//
// A finished deployment (SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK, REJECTED) does not change any
// more: a later spec change is ignored with a message, as Armory could not roll back a finished
// deployment either; one redeploys with a new Deployment. While a deployment runs, a spec change
// is validated again and reaches only the targets whose Rollout does not exist yet; Rollouts are
// never rewritten (an invalid change fails the deployment and cancels its running Rollouts).
//
// The status is the controller's only memory: status.targets[].startedAt is when a target's
// dependencies were done and its beforeDeployment gates began, status.targets[].finishedAt when
// its Rollout finished and its afterDeployment gates began, pendingApprovals[].since when a wait
// began. Everything else is derived again on every reconcile from the spec, the Rollouts, the
// accepted Judgments and the clock.
package deployment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/internal/envelope"
)

// Field indexes this controller registers with the manager's cache.
const (
	// ApplicationIndex indexes Deployments by spec.application.
	ApplicationIndex = "spec.application"
	// JudgmentDeploymentIndex indexes Judgments by spec.deploymentName.
	JudgmentDeploymentIndex = "spec.deploymentName"
)

// Reconciler reconciles Deployments.
type Reconciler struct {
	client.Client
	// Recorder records Events on Deployments (events.k8s.io); nil records none. The manager's
	// GetEventRecorder("aurora-deployment-controller").
	Recorder events.EventRecorder
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// APIURL is the REST API's public URL: webhook steps get their callback URI under it (see
	// CallbackBaseURI). Empty: no {{armory.callbackUri}}.
	APIURL string
	// APIReader reads the tenant's secret store uncached (so that Secrets are not cached); Client
	// when nil.
	APIReader client.Reader
	// HTTPClient calls constraint webhooks; default: TLS 1.2 or newer, 30s timeout.
	HTTPClient *http.Client
	// Workers is how many Deployments are reconciled at once; DefaultWorkers when 0. The queue's
	// admission holds however stale the view of the other Deployments is, so Deployments of one
	// application may be reconciled side by side.
	Workers int
	// Sealer opens the tenant's sealed {{secrets.<key>}} (the master key); nil fails every webhook
	// call that uses a secret, saying no master key is configured.
	Sealer *envelope.Sealer
}

// DefaultWorkers is how many Deployments the controller reconciles at once by default.
const DefaultWorkers = 4

// SetupWithManager registers the reconciler and its field indexes. It watches Deployments (and,
// for the queue, the other Deployments of the same application), the Rollouts they own, the
// Judgments that name them and the connectivity of the Agents of their namespace.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	if err := mgr.GetFieldIndexer().IndexField(ctx, &deployv1alpha1.Deployment{}, ApplicationIndex, func(o client.Object) []string {
		return []string{o.(*deployv1alpha1.Deployment).Spec.Application}
	}); err != nil {
		return fmt.Errorf("indexing Deployments by application: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &deployv1alpha1.Judgment{}, JudgmentDeploymentIndex, func(o client.Object) []string {
		return []string{o.(*deployv1alpha1.Judgment).Spec.DeploymentName}
	}); err != nil {
		return fmt.Errorf("indexing Judgments by deployment: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&deployv1alpha1.Deployment{}).
		Owns(&rolloutv1alpha1.Rollout{}).
		Watches(&deployv1alpha1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.sameApplication)).
		Watches(&deployv1alpha1.Judgment{}, handler.EnqueueRequestsFromMapFunc(deploymentOfJudgment)).
		Watches(&deployv1alpha1.Agent{}, handler.EnqueueRequestsFromMapFunc(r.unfinishedInNamespace),
			builder.WithPredicates(connectivityChanged)).
		Named("deployment").
		WithOptions(controller.Options{MaxConcurrentReconciles: cmp.Or(r.Workers, DefaultWorkers)}).
		Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile validates, admits, plans and executes a Deployment and writes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	d := &deployv1alpha1.Deployment{}
	if err := r.Get(ctx, req.NamespacedName, d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // its Rollouts go with it (owner references)
	}
	before := d.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, d.Status) {
			return
		}
		if err := r.Status().Patch(ctx, d, client.MergeFrom(before)); err != nil {
			if !apierrors.IsNotFound(err) {
				retErr = errors.Join(retErr, fmt.Errorf("patching the status: %w", err))
			}
			return
		}
		r.recordTransition(ctx, before, d)
	}()

	if before.Status.State.IsFinal() {
		r.ignoreSpecChange(ctx, d)
		return ctrl.Result{}, nil
	}
	now := r.now()
	if errs := Validate(&d.Spec); len(errs) > 0 {
		log.Info("Deployment spec is invalid", "problems", len(errs))
		return ctrl.Result{}, r.invalid(ctx, d, errs, now)
	}
	judgments, err := r.acceptedJudgments(ctx, d)
	if err != nil {
		meta.MarkNotReady(d, meta.ProgressingWithRetryReason, err.Error())
		return ctrl.Result{}, err
	}
	d.Status.Judgments = AuditTrail(judgments)
	if d.Status.StartedAt == nil && !cancelledBeforeStart(d, judgments) {
		adm, err := r.admit(ctx, d)
		if err != nil {
			meta.MarkNotReady(d, meta.ProgressingWithRetryReason, err.Error())
			return ctrl.Result{}, err
		}
		if adm.verdict != admitStart {
			applyAdmission(d, adm, now)
			return ctrl.Result{}, nil
		}
		d.Status.StartedAt = timePtr(now)
		d.Status.BlockedBy = ""
	}

	rollouts, err := r.ownedRollouts(ctx, d)
	if err != nil {
		meta.MarkNotReady(d, meta.ProgressingWithRetryReason, err.Error())
		return ctrl.Result{}, err
	}
	agents := &deployv1alpha1.AgentList{}
	if err := r.List(ctx, agents, client.InNamespace(d.Namespace)); err != nil {
		meta.MarkNotReady(d, meta.ProgressingWithRetryReason, "listing the Agents failed")
		return ctrl.Result{}, fmt.Errorf("listing the Agents of namespace %s: %w", d.Namespace, err)
	}
	plan := PlanTargets(Input{Deployment: d, Rollouts: rollouts, Judgments: judgments, Agents: AgentConnectivity(agents.Items), Now: now})
	setCallbackURIs(&plan, r.APIURL)
	if err := r.execute(ctx, d, rollouts, &plan); err != nil {
		meta.MarkNotReady(d, meta.ProgressingWithRetryReason, err.Error())
		return ctrl.Result{}, err
	}
	called := r.callWebhooks(ctx, d, &plan, now)
	applyPlan(d, &plan, now)
	if !plan.Wake.IsZero() && !d.Status.State.IsFinal() {
		result.RequeueAfter = max(plan.Wake.Sub(now), time.Second)
	}
	if called {
		result.RequeueAfter = webhookRequeue
	}
	return result, nil
}

// invalid fails a deployment whose spec is invalid, with every problem in the message, and
// cancels the Rollouts it may already run.
func (r *Reconciler) invalid(ctx context.Context, d *deployv1alpha1.Deployment, errs []string, now time.Time) error {
	d.Status.State = deployv1alpha1.StateFailed
	d.Status.ObservedGeneration = d.Generation
	d.Status.PendingApprovals = nil
	if d.Status.FinishedAt == nil {
		d.Status.FinishedAt = timePtr(now)
	}
	meta.MarkStalled(d, meta.InvalidSpecReason, strings.Join(errs, "; "))
	if d.Status.StartedAt == nil {
		return nil
	}
	rollouts, err := r.ownedRollouts(ctx, d)
	if err != nil {
		return err
	}
	var stop []PlannedDecision
	for _, ro := range rollouts {
		if !ro.Status.Phase.IsFinal() {
			stop = append(stop, PlannedDecision{Target: ro.Spec.Target, Rollout: ro.Name,
				Decision: rolloutv1alpha1.RolloutDecision{Name: InvalidSpecDecision, Decision: deployv1alpha1.DecisionCancel}})
		}
	}
	return r.appendDecisions(ctx, d, rollouts, stop)
}

// ignoreSpecChange keeps a finished deployment as it is, saying so when its spec changed.
func (r *Reconciler) ignoreSpecChange(ctx context.Context, d *deployv1alpha1.Deployment) {
	if d.Status.ObservedGeneration == d.Generation {
		return
	}
	ready := apimeta.FindStatusCondition(d.Status.Conditions, meta.ReadyCondition)
	reason, msg := meta.SucceededReason, ""
	if ready != nil {
		reason, msg = ready.Reason, ready.Message
		if i := strings.Index(msg, " (spec change of generation"); i >= 0 {
			msg = msg[:i]
		}
	}
	msg += fmt.Sprintf(" (spec change of generation %d ignored: the deployment finished %s; create a new Deployment to redeploy)",
		d.Generation, d.Status.State)
	d.Status.ObservedGeneration = d.Generation
	if d.Status.State == deployv1alpha1.StateSucceeded {
		meta.MarkReady(d, reason, msg)
	} else {
		meta.MarkStalled(d, reason, msg)
	}
	ctrl.LoggerFrom(ctx).Info("Ignored a spec change of a finished Deployment", "generation", d.Generation, "state", d.Status.State)
}

// applyAdmission writes a queue decision other than "start" into the status.
func applyAdmission(d *deployv1alpha1.Deployment, adm admission, now time.Time) {
	st := &d.Status
	st.ObservedGeneration = d.Generation
	st.TargetProgress = fmt.Sprintf("0/%d", len(SelectedTargets(&d.Spec)))
	switch adm.verdict {
	case admitQueue:
		st.State, st.BlockedBy = deployv1alpha1.StateQueued, adm.other
		meta.MarkReconciling(d, deployv1alpha1.ReasonQueued, adm.message)
	case admitReject:
		st.State, st.BlockedBy = deployv1alpha1.StateRejected, adm.other
		st.FinishedAt = timePtr(now)
		meta.MarkStalled(d, deployv1alpha1.ReasonRejected, adm.message)
	case admitReplace:
		st.State, st.ReplacedBy = deployv1alpha1.StateRejected, adm.other
		st.FinishedAt = timePtr(now)
		meta.MarkStalled(d, ReasonReplaced, adm.message)
	}
}

// cancelledBeforeStart reports whether accepted cancels cover every selected target of a
// deployment that has not started: it then ends CANCELLED without queueing.
func cancelledBeforeStart(d *deployv1alpha1.Deployment, judgments []deployv1alpha1.Judgment) bool {
	cancelled := map[string]bool{}
	for _, j := range judgments {
		if j.Spec.Decision != deployv1alpha1.DecisionCancel {
			continue
		}
		for _, s := range j.Status.AppliedTo {
			cancelled[ParseBinding(s).Target] = true
		}
	}
	for _, t := range SelectedTargets(&d.Spec) {
		if !cancelled[t] {
			return false
		}
	}
	return len(cancelled) > 0
}

// admit lists the Deployments of d's application and applies the queue rule.
func (r *Reconciler) admit(ctx context.Context, d *deployv1alpha1.Deployment) (admission, error) {
	list := &deployv1alpha1.DeploymentList{}
	if err := r.List(ctx, list, client.InNamespace(d.Namespace), client.MatchingFields{ApplicationIndex: d.Spec.Application}); err != nil {
		return admission{}, fmt.Errorf("listing the Deployments of application %s: %w", d.Spec.Application, err)
	}
	return admit(d, list.Items), nil
}

// acceptedJudgments lists the Judgments accepted for d.
func (r *Reconciler) acceptedJudgments(ctx context.Context, d *deployv1alpha1.Deployment) ([]deployv1alpha1.Judgment, error) {
	list := &deployv1alpha1.JudgmentList{}
	if err := r.List(ctx, list, client.InNamespace(d.Namespace), client.MatchingFields{JudgmentDeploymentIndex: d.Name}); err != nil {
		return nil, fmt.Errorf("listing the Judgments of deployment %s: %w", d.Name, err)
	}
	var out []deployv1alpha1.Judgment
	for _, j := range list.Items {
		if Accepted(&j, d) {
			out = append(out, j)
		}
	}
	return out, nil
}

// ownedRollouts lists the Rollouts d controls.
func (r *Reconciler) ownedRollouts(ctx context.Context, d *deployv1alpha1.Deployment) ([]rolloutv1alpha1.Rollout, error) {
	list := &rolloutv1alpha1.RolloutList{}
	if err := r.List(ctx, list, client.InNamespace(d.Namespace), client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: LabelValue(d.Name)}); err != nil {
		return nil, fmt.Errorf("listing the Rollouts of deployment %s: %w", d.Name, err)
	}
	var out []rolloutv1alpha1.Rollout
	for _, ro := range list.Items {
		if owner := metav1ControllerOf(&ro); owner == d.UID {
			out = append(out, ro)
		}
	}
	return out, nil
}

// execute creates the planned Rollouts and appends the planned decisions.
func (r *Reconciler) execute(ctx context.Context, d *deployv1alpha1.Deployment, rollouts []rolloutv1alpha1.Rollout, plan *Plan) error {
	log := ctrl.LoggerFrom(ctx)
	for _, ro := range plan.Create {
		err := r.Create(ctx, ro)
		switch {
		case apierrors.IsAlreadyExists(err):
			// Ours, created by an earlier reconcile the cache has not caught up with; or someone
			// else's, which is an error.
			existing := &rolloutv1alpha1.Rollout{}
			if err := r.Get(ctx, client.ObjectKeyFromObject(ro), existing); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("reading Rollout %s: %w", ro.Name, err)
			} else if err == nil && metav1ControllerOf(existing) != d.UID {
				return fmt.Errorf("rollout %s exists and belongs to something else; delete it or rename the deployment", ro.Name)
			}
		case err != nil:
			return fmt.Errorf("creating Rollout %s for target %s: %w", ro.Name, ro.Spec.Target, err)
		default:
			log.Info("Created a Rollout", "rollout", ro.Name, "target", ro.Spec.Target, "account", ro.Spec.Account)
			r.event(d, ro, corev1.EventTypeNormal, EventRolloutCreated, "Create",
				"Created Rollout %s for target %s (agent %s)", ro.Name, ro.Spec.Target, ro.Spec.Account)
		}
	}
	return r.appendDecisions(ctx, d, rollouts, plan.Decisions)
}

// appendDecisions appends decisions to Rollouts' spec.decisions, with optimistic locking, skipping
// those a Rollout already has (by name).
func (r *Reconciler) appendDecisions(ctx context.Context, d *deployv1alpha1.Deployment, rollouts []rolloutv1alpha1.Rollout, decisions []PlannedDecision) error {
	byRollout := map[string][]PlannedDecision{}
	var order []string
	for _, pd := range decisions {
		if _, ok := byRollout[pd.Rollout]; !ok {
			order = append(order, pd.Rollout)
		}
		byRollout[pd.Rollout] = append(byRollout[pd.Rollout], pd)
	}
	for _, name := range order {
		var ro *rolloutv1alpha1.Rollout
		for i := range rollouts {
			if rollouts[i].Name == name {
				ro = rollouts[i].DeepCopy()
			}
		}
		if ro == nil {
			continue
		}
		base := ro.DeepCopy()
		var added []rolloutv1alpha1.RolloutDecision
		for _, pd := range byRollout[name] {
			if !hasDecision(ro, pd.Decision.Name) {
				ro.Spec.Decisions = append(ro.Spec.Decisions, pd.Decision)
				added = append(added, pd.Decision)
			}
		}
		if len(added) == 0 {
			continue
		}
		if err := r.Patch(ctx, ro, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("appending decisions to Rollout %s: %w", name, err)
		}
		for _, dec := range added {
			ctrl.LoggerFrom(ctx).Info("Passed a decision to a Rollout", "rollout", name, "decision", dec.Decision, "gate", dec.Gate, "name", dec.Name)
			r.event(d, ro, corev1.EventTypeNormal, EventDecisionPassed, "Decide",
				"Passed %s %s to Rollout %s", dec.Name, describeDecision(dec), name)
		}
	}
	return nil
}

// recordTransition records Events when a deployment started or finished.
func (r *Reconciler) recordTransition(ctx context.Context, before, after *deployv1alpha1.Deployment) {
	if before.Status.StartedAt == nil && after.Status.StartedAt != nil {
		r.event(after, nil, corev1.EventTypeNormal, EventStarted, "Start", "Started deploying application %s", after.Spec.Application)
	}
	if !before.Status.State.IsFinal() && after.Status.State.IsFinal() {
		kind := corev1.EventTypeWarning
		if after.Status.State == deployv1alpha1.StateSucceeded {
			kind = corev1.EventTypeNormal
		}
		msg := ""
		if c := apimeta.FindStatusCondition(after.Status.Conditions, meta.ReadyCondition); c != nil {
			msg = c.Message
		}
		ctrl.LoggerFrom(ctx).Info("Deployment finished", "state", after.Status.State)
		r.event(after, nil, kind, EventFinished, "Finish", "%s: %s", after.Status.State, msg)
	}
}

func (r *Reconciler) event(regarding, related client.Object, kind, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	var rel runtime.Object
	if related != nil {
		rel = related
	}
	r.Recorder.Eventf(regarding, rel, kind, reason, action, note, args...)
}

// sameApplication maps a Deployment to the other Deployments of its application, which may be
// queued behind it.
func (r *Reconciler) sameApplication(ctx context.Context, obj client.Object) []reconcile.Request {
	d, ok := obj.(*deployv1alpha1.Deployment)
	if !ok {
		return nil
	}
	list := &deployv1alpha1.DeploymentList{}
	if err := r.List(ctx, list, client.InNamespace(d.Namespace), client.MatchingFields{ApplicationIndex: d.Spec.Application}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the Deployments of an application failed", "application", d.Spec.Application)
		return nil
	}
	var reqs []reconcile.Request
	for _, o := range list.Items {
		if o.Name != d.Name && !o.Status.State.IsFinal() {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.Namespace, Name: o.Name}})
		}
	}
	return reqs
}

// unfinishedInNamespace maps an Agent to the unfinished Deployments of its namespace.
func (r *Reconciler) unfinishedInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	list := &deployv1alpha1.DeploymentList{}
	if err := r.List(ctx, list, client.InNamespace(obj.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the Deployments of a namespace failed", "namespace", obj.GetNamespace())
		return nil
	}
	var reqs []reconcile.Request
	for _, o := range list.Items {
		if !o.Status.State.IsFinal() {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.Namespace, Name: o.Name}})
		}
	}
	return reqs
}

// connectivityChanged passes Agent events that can change a deployment: an Agent created or
// deleted, or its connection going up or down; not the Hub's heartbeats.
var connectivityChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*deployv1alpha1.Agent)
		cur, okNew := e.ObjectNew.(*deployv1alpha1.Agent)
		return !okOld || !okNew || old.Status.Connected != cur.Status.Connected
	},
}

// deploymentOfJudgment maps a Judgment to the Deployment it names.
func deploymentOfJudgment(_ context.Context, obj client.Object) []reconcile.Request {
	j, ok := obj.(*deployv1alpha1.Judgment)
	if !ok || j.Spec.DeploymentName == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: j.Namespace, Name: j.Spec.DeploymentName}}}
}

// metav1ControllerOf returns the uid of an object's controller, or "".
func metav1ControllerOf(obj client.Object) types.UID {
	for _, o := range obj.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller {
			return o.UID
		}
	}
	return ""
}

// describeDecision says what a Rollout decision does, for Events.
func describeDecision(d rolloutv1alpha1.RolloutDecision) string {
	if d.Gate == "" {
		return fmt.Sprintf("(%s)", d.Decision)
	}
	return fmt.Sprintf("(%s %s)", d.Decision, d.Gate)
}
