package executor

import (
	"context"
	"fmt"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// ConditionKind is what a blue/green condition does: the same kinds as the canary steps that are
// not setWeight.
type ConditionKind string

// Kinds of blue/green conditions.
const (
	// ConditionPause waits for a duration or until approved, as a canary pause does.
	ConditionPause ConditionKind = "pause"
	// ConditionAnalysis runs metric queries.
	ConditionAnalysis ConditionKind = "analysis"
	// ConditionRunWebhook calls a webhook and waits for its callback.
	ConditionRunWebhook ConditionKind = "runWebhook"
	// ConditionExposeServices creates preview links.
	ConditionExposeServices ConditionKind = "exposeServices"
)

// Condition is one condition of a blue/green strategy.
type Condition struct {
	// Gate names it as decisions do: redirectTrafficAfter[i] or shutDownOldVersionAfter[i].
	Gate string
	// Kind is what it does.
	Kind ConditionKind
	// Spec is the condition as the strategy writes it, for the runner of its kind.
	Spec deployv1alpha1.BlueGreenCondition
}

// ConditionKindOf returns the kind of a condition as written.
func ConditionKindOf(c deployv1alpha1.BlueGreenCondition) ConditionKind {
	switch {
	case c.Pause != nil:
		return ConditionPause
	case c.Analysis != nil:
		return ConditionAnalysis
	case c.RunWebhook != nil:
		return ConditionRunWebhook
	case c.ExposeServices != nil:
		return ConditionExposeServices
	}
	return ""
}

// ConditionInput is what a runner sees of one condition in one pass.
type ConditionInput struct {
	// Context is the pass's context, for runners that call out.
	Context context.Context
	// Condition is the condition.
	Condition Condition
	// Since is when its group started (all conditions of a group start together).
	Since time.Time
	// Now is the current time.
	Now time.Time
	// Decision is a pending decision (approve, skip or reject) that names the condition, or that
	// names no gate and falls to it; nil when none.
	Decision *rolloutv1alpha1.RolloutDecision
	// Execution is the execution's input, for runners that read the spec's queries and webhooks and
	// the runs and calls recorded in the status; nil for runners that need none.
	Execution *ExecutionInput
}

// ConditionOutcome is a runner's verdict on one condition in one pass.
type ConditionOutcome struct {
	// State is Running, Paused, AwaitingApproval, Passed or Failed.
	State rolloutv1alpha1.ConditionState
	// Message says what it waits for, or why it passed or failed.
	Message string
	// RequeueAfter is when to look again at the latest (zero: when something changes).
	RequeueAfter time.Duration
	// ActedOn is true when the runner acted on the input's decision.
	ActedOn bool
	// AnalysisDue is a judgment run the executor makes after the pass (analysis conditions).
	AnalysisDue *AnalysisDue
	// WebhookDue is a webhook call the executor makes after the pass (runWebhook conditions).
	WebhookDue *WebhookDue
	// WebhookUpdates are new records of webhook calls, for status.webhooks.
	WebhookUpdates []deployv1alpha1.WebhookCall
}

// ConditionRunner runs the conditions of one kind. Runners of the pause kind are pure; those of
// analysis, runWebhook and exposeServices call out, and run the same code as the canary steps of
// their kind. The executor calls Run once per pass for every condition of the running group that
// has not passed yet.
type ConditionRunner interface {
	// Run advances the condition and returns its state.
	Run(in ConditionInput) ConditionOutcome
}

// ConditionRunners are the runners by kind. A kind without a runner is refused before the Rollout
// starts (see NotYetSupported).
type ConditionRunners map[ConditionKind]ConditionRunner

// DefaultConditionRunners are the runners of the kinds the executor runs: pause, exposeServices,
// analysis and runWebhook.
func DefaultConditionRunners() ConditionRunners {
	return ConditionRunners{
		ConditionPause: PauseRunner{}, ConditionExposeServices: ExposeRunner{},
		ConditionAnalysis: AnalysisRunner{}, ConditionRunWebhook: WebhookRunner{},
	}
}

// ExposeRunner runs exposeServices conditions. As the canary step of that kind, a condition passes
// at once: the execution lists its preview links in the Rollout's status.previews (gate the
// condition's) when its group starts, and has the Hub sign them (see expose.go). It takes no
// decisions.
type ExposeRunner struct{}

// Run passes one exposeServices condition, naming its Services and how long their links live.
func (ExposeRunner) Run(in ConditionInput) ConditionOutcome {
	e := in.Condition.Spec.ExposeServices
	if e == nil {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionFailed, Message: "not an exposeServices condition"}
	}
	if len(e.Services) == 0 {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionFailed, Message: "exposeServices.services: expected at least one Service"}
	}
	return ConditionOutcome{State: rolloutv1alpha1.ConditionPassed,
		Message: fmt.Sprintf("preview links to %s for %s", strings.Join(e.Services, ", "), formatDuration(previewTTL(e)))}
}

// PauseRunner runs pause conditions: a timed pause passes after its duration or on a skip or
// approve decision; a pause until approved passes on approve and fails on reject.
type PauseRunner struct{}

// Run advances one pause condition.
func (PauseRunner) Run(in ConditionInput) ConditionOutcome {
	p := in.Condition.Spec.Pause
	if p == nil {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionFailed, Message: "not a pause"}
	}
	d := in.Decision
	if p.UntilApproved {
		switch {
		case d != nil && d.Decision == deployv1alpha1.DecisionApprove:
			return ConditionOutcome{State: rolloutv1alpha1.ConditionPassed, Message: "approved by decision " + d.Name, ActedOn: true}
		case d != nil && d.Decision == deployv1alpha1.DecisionReject:
			return ConditionOutcome{State: rolloutv1alpha1.ConditionFailed, Message: "rejected by decision " + d.Name, ActedOn: true}
		}
		return ConditionOutcome{State: rolloutv1alpha1.ConditionAwaitingApproval, Message: "waiting for approval"}
	}
	if d != nil && (d.Decision == deployv1alpha1.DecisionSkip || d.Decision == deployv1alpha1.DecisionApprove) {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionPassed, Message: "skipped by decision " + d.Name, ActedOn: true}
	}
	duration := time.Duration(0)
	if p.Duration != nil {
		duration = deployv1alpha1.ToDuration(int64(*p.Duration), p.Unit)
	}
	elapsed := in.Now.Sub(in.Since)
	if elapsed >= duration {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionPassed, Message: "paused for " + formatDuration(duration)}
	}
	until := in.Since.Add(duration).UTC().Format(time.RFC3339)
	return ConditionOutcome{State: rolloutv1alpha1.ConditionPaused, Message: fmt.Sprintf("paused for %s, until %s", formatDuration(duration), until),
		RequeueAfter: duration - elapsed}
}

// acceptsDecision reports whether a condition of this kind can act on a decision: approve or
// reject for a pause until approved, skip or approve for a timed pause, approve or reject for an
// analysis (manual modes) or a webhook (its callback). exposeServices takes none.
func acceptsDecision(c Condition, d deployv1alpha1.Decision) bool {
	if c.Spec.Analysis != nil || c.Spec.RunWebhook != nil {
		return d == deployv1alpha1.DecisionApprove || d == deployv1alpha1.DecisionReject
	}
	if c.Spec.Pause == nil {
		return false
	}
	if c.Spec.Pause.UntilApproved {
		return d == deployv1alpha1.DecisionApprove || d == deployv1alpha1.DecisionReject
	}
	return d == deployv1alpha1.DecisionSkip || d == deployv1alpha1.DecisionApprove
}
