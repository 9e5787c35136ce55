package executor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// DefaultTimeout bounds each wait for Ready when a Rollout sets no timeout.
const DefaultTimeout = 30 * time.Minute

// StepKind is what a step of the plan does.
type StepKind string

// Kinds of steps.
const (
	// SetWeight moves pods to the new version and waits until they are Ready.
	SetWeight StepKind = "setWeight"
	// PauseFor waits for a duration (a skip or approve decision ends it early).
	PauseFor StepKind = "pause"
	// PauseUntilApproved waits for an approve (go on) or reject (roll back) decision.
	PauseUntilApproved StepKind = "pauseUntilApproved"
	// ExposeServices lists preview links to Services and goes on at once (see expose.go).
	ExposeServices StepKind = "exposeServices"
	// RunAnalysis runs metric queries and judges the new version (analysis.go).
	RunAnalysis StepKind = "analysis"
	// RunWebhook calls a webhook and waits for its callback (webhook.go).
	RunWebhook StepKind = "runWebhook"
)

// Step is one step of an execution.
type Step struct {
	// Index is the step's index in spec.strategy.canary.steps; -1 for the final 100% that the
	// executor adds.
	Index int
	// Kind is what the step does.
	Kind StepKind
	// Weight is the share of the new version, in percent, while the step runs: a pause keeps the
	// weight of the step before it (0 at the start).
	Weight int32
	// Duration is how long a PauseFor waits, or how long the links of ExposeServices live.
	Duration time.Duration
	// Services are the Services an ExposeServices step links to.
	Services []string
	// Analysis is a RunAnalysis step's spec.
	Analysis *deployv1alpha1.AnalysisStep
	// Webhook is a RunWebhook step's spec.
	Webhook *deployv1alpha1.RunWebhookStep
	// ConditionGate is set when the step stands for a blue/green condition (such as
	// redirectTrafficAfter[1]): Gate then returns it.
	ConditionGate string
}

// Gate is how decisions name the step: "steps[<index>]", the condition's gate for a blue/green
// condition, or empty for the added final step.
func (s Step) Gate() string {
	if s.ConditionGate != "" {
		return s.ConditionGate
	}
	if s.Index < 0 {
		return ""
	}
	return "steps[" + strconv.Itoa(s.Index) + "]"
}

// IsPause reports whether the step waits for time or a decision.
func (s Step) IsPause() bool { return s.Kind == PauseFor || s.Kind == PauseUntilApproved }

// TakesDecisions reports whether approve, skip or reject decisions can act on the step: a pause, an
// analysis (manual modes) or a webhook (its callback).
func (s Step) TakesDecisions() bool {
	return s.IsPause() || s.Kind == RunAnalysis || s.Kind == RunWebhook
}

// PlanSteps returns the steps of a canary strategy: its steps in order, each pause at the weight
// of the step before it (0 at the start), then a final setWeight of 100 unless the last step
// already is one. A first deployment (nothing stable runs yet) has only that final step: it goes
// straight to the new version at full replicas.
func PlanSteps(strategy deployv1alpha1.Strategy, firstDeployment bool) []Step {
	final := Step{Index: -1, Kind: SetWeight, Weight: 100}
	if firstDeployment || strategy.Canary == nil {
		return []Step{final}
	}
	var plan []Step
	weight := int32(0)
	for i, s := range strategy.Canary.Steps {
		switch {
		case s.SetWeight != nil:
			weight = min(max(s.SetWeight.Weight, 0), 100)
			plan = append(plan, Step{Index: i, Kind: SetWeight, Weight: weight})
		case s.Pause != nil && s.Pause.UntilApproved:
			plan = append(plan, Step{Index: i, Kind: PauseUntilApproved, Weight: weight})
		case s.Pause != nil:
			d := time.Duration(0)
			if s.Pause.Duration != nil {
				d = deployv1alpha1.ToDuration(int64(*s.Pause.Duration), s.Pause.Unit)
			}
			plan = append(plan, Step{Index: i, Kind: PauseFor, Weight: weight, Duration: d})
		case s.ExposeServices != nil:
			plan = append(plan, exposeStep(i, weight, s.ExposeServices))
		case s.Analysis != nil:
			plan = append(plan, Step{Index: i, Kind: RunAnalysis, Weight: weight, Analysis: s.Analysis})
		case s.RunWebhook != nil:
			plan = append(plan, Step{Index: i, Kind: RunWebhook, Weight: weight, Webhook: s.RunWebhook})
		}
	}
	if len(plan) == 0 || plan[len(plan)-1].Kind != SetWeight || plan[len(plan)-1].Weight != 100 {
		plan = append(plan, final)
	}
	return plan
}

// NotYetSupported returns why the executor cannot run a strategy: a blue/green condition of a kind
// without a runner (see DefaultConditionRunners), or a step that sets nothing. The error's text is
// the Rollout's message.
func NotYetSupported(strategy deployv1alpha1.Strategy) error {
	if bg := strategy.BlueGreen; bg != nil {
		return unsupportedConditions(bg, DefaultConditionRunners())
	}
	if strategy.Canary == nil {
		return errors.New("the strategy sets neither canary nor blueGreen")
	}
	for i, s := range strategy.Canary.Steps {
		switch {
		case s.SetWeight == nil && s.Pause == nil && s.ExposeServices == nil && s.Analysis == nil && s.RunWebhook == nil:
			return fmt.Errorf("steps[%d] sets no step", i)
		}
	}
	return nil
}

// TimeoutOf returns how long each wait for Ready may take.
func TimeoutOf(spec *rolloutv1alpha1.RolloutSpec) time.Duration {
	if spec.Timeout == nil || spec.Timeout.Duration <= 0 {
		return DefaultTimeout
	}
	return spec.Timeout.Get()
}

// parseGate returns the step index a gate names ("steps[3]" → 3), or -1 when it names no canary
// step (empty, or another form).
func parseGate(gate string) int { return parseIndexedGate(gate, "steps[") }

// parseIndexedGate returns the index of a gate of the form <prefix><index>] ("steps[" and
// "steps[3]" → 3), or -1 when the gate has another form.
func parseIndexedGate(gate, prefix string) int {
	inner, ok := strings.CutPrefix(gate, prefix)
	if !ok {
		return -1
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(inner)
	if err != nil || i < 0 {
		return -1
	}
	return i
}
