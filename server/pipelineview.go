package server

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// Labels and annotations the API puts on the Deployments it creates.
const (
	// ApplicationLabel carries the deploy file's application.
	ApplicationLabel = "deploy.aurora.dev/application"
	// InitiatedByAnnotation names who started the deployment (the token's principal name).
	InitiatedByAnnotation = "deploy.aurora.dev/initiated-by"
	// InitiatedByTypeLabel is user or machine.
	InitiatedByTypeLabel = "deploy.aurora.dev/initiated-by-type"
	// InitiatedByClientIDAnnotation is the client id of the machine credential that started it.
	InitiatedByClientIDAnnotation = "deploy.aurora.dev/initiated-by-client-id"
	// StartedViaLabel says the deployment came through the REST API ("api").
	StartedViaLabel = "deploy.aurora.dev/started-via"
	// CreatedByAnnotation names who created a MachineCredential through the API.
	CreatedByAnnotation = "iam.aurora.dev/created-by"
	// StatusUnknown is the status word of a deployment the controller has not seen yet.
	StatusUnknown = "UNKNOWN"
)

// PipelineSummary is one entry of GET /pipelines.
type PipelineSummary struct {
	ID                 string `json:"id"`
	Application        string `json:"application"`
	Status             string `json:"status"`
	StartedAtIso8601   string `json:"startedAtIso8601"`
	CompletedAtIso8601 string `json:"completedAtIso8601"`
	InitiatedBy        string `json:"initiatedBy"`
}

// Pipeline is the answer of GET /pipelines/{id}.
type Pipeline struct {
	PipelineSummary
	Description        string            `json:"description"`
	Context            map[string]string `json:"context"`
	Environments       []string          `json:"environments"`
	Steps              []Step            `json:"steps"`
	PendingApprovals   []PendingApproval `json:"pendingApprovals"`
	Judgments          []JudgmentRecord  `json:"judgments"`
	BlockedByPipeline  string            `json:"blockedByPipeline,omitempty"`
	ReplacedByPipeline string            `json:"replacedByPipeline,omitempty"`
	Message            string            `json:"message,omitempty"`
}

// Step is a node of the pipeline's graph: a target's deployment, or a gate.
type Step struct {
	Type          string          `json:"type"`
	Status        string          `json:"status"`
	Ref           string          `json:"ref"`
	DependsOn     []string        `json:"dependsOn,omitempty"`
	ConstraintFor string          `json:"constraintFor,omitempty"`
	Deployment    *StepDeployment `json:"deployment,omitempty"`
	Pause         *StepPause      `json:"pause,omitempty"`
	Webhook       *StepWebhook    `json:"webhook,omitempty"`
	Analysis      *StepAnalysis   `json:"analysis,omitempty"`
}

// StepDeployment is a target's deployment within the graph.
type StepDeployment struct {
	ID          string `json:"id"`
	Environment string `json:"environment"`
	Account     string `json:"account"`
	Step        int32  `json:"step"`
	TotalSteps  int32  `json:"totalSteps"`
	Weight      int32  `json:"weight"`
	Message     string `json:"message"`
	// Previews are the target's preview links by Service, when it has any.
	Previews map[string]string `json:"previews,omitempty"`
	// PreviewsExpireAt is when the first of those links expires (ISO 8601).
	PreviewsExpireAt string `json:"previewsExpiresAtIso8601,omitempty"`
}

// StepPause is a pause gate.
type StepPause struct {
	Duration      *int32   `json:"duration,omitempty"`
	Unit          string   `json:"unit,omitempty"`
	UntilApproved bool     `json:"untilApproved"`
	RequiresRoles []string `json:"requiresRoles"`
}

// StepWebhook is a webhook gate.
type StepWebhook struct {
	Name string `json:"name"`
}

// StepAnalysis is an analysis gate.
type StepAnalysis struct {
	Queries []string `json:"queries"`
}

// PendingApproval is a gate that waits for a Judgment.
type PendingApproval struct {
	Target        string   `json:"target"`
	Gate          string   `json:"gate"`
	RequiresRoles []string `json:"requiresRoles"`
	Since         string   `json:"since"`
	ExpiresAt     string   `json:"expiresAtIso8601,omitempty"`
}

// JudgmentRecord is one applied Judgment.
type JudgmentRecord struct {
	Decision string `json:"decision"`
	Author   string `json:"author"`
	Target   string `json:"target"`
	Gate     string `json:"gate"`
	Reason   string `json:"reason,omitempty"`
	At       string `json:"at"`
}

// iso formats a time as ISO 8601 in UTC; "" for nil.
func iso(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// statusWord is a deployment's status word; UNKNOWN before the controller saw it.
func statusWord(s deployv1alpha1.DeploymentState) string {
	if s == "" {
		return StatusUnknown
	}
	return string(s)
}

// SummarizePipeline is a Deployment's entry of GET /pipelines.
func SummarizePipeline(d *deployv1alpha1.Deployment) PipelineSummary {
	return PipelineSummary{
		ID: d.Name, Application: d.Spec.Application, Status: statusWord(d.Status.State),
		StartedAtIso8601: iso(d.Status.StartedAt), CompletedAtIso8601: iso(d.Status.FinishedAt),
		InitiatedBy: d.Annotations[InitiatedByAnnotation],
	}
}

// PipelineOf is the pipeline view of a Deployment: the graph of its selected targets in dependency
// order, each with its constraint gates, the strategy steps that wait for approval, the pending
// approvals and the audit trail of Judgments.
func PipelineOf(d *deployv1alpha1.Deployment) Pipeline {
	p := Pipeline{
		PipelineSummary: SummarizePipeline(d), Context: d.Spec.ContextOverrides, Environments: []string{},
		Steps: []Step{}, PendingApprovals: []PendingApproval{}, Judgments: []JudgmentRecord{},
		BlockedByPipeline: d.Status.BlockedBy, ReplacedByPipeline: d.Status.ReplacedBy,
	}
	if p.Context == nil {
		p.Context = map[string]string{}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == "Ready" && c.Status != metav1.ConditionTrue {
			p.Message = c.Message
		}
	}
	waiting := map[string]deployv1alpha1.PendingApproval{}
	for _, pa := range d.Status.PendingApprovals {
		waiting[pa.Target+"/"+pa.Gate] = pa
		roles := pa.RequiresRoles
		if roles == nil {
			roles = []string{}
		}
		p.PendingApprovals = append(p.PendingApprovals, PendingApproval{Target: pa.Target, Gate: pa.Gate, RequiresRoles: roles, Since: iso(pa.Since), ExpiresAt: iso(pa.ExpiresAt)})
	}
	for _, j := range d.Status.Judgments {
		rec := JudgmentRecord{Decision: string(j.Decision), Author: j.Author, Reason: j.Reason, At: iso(j.AppliedAt)}
		if len(j.AppliedTo) > 0 {
			b := deployment.ParseBinding(j.AppliedTo[0])
			rec.Target, rec.Gate = b.Target, b.Gate
		}
		p.Judgments = append(p.Judgments, rec)
	}
	statuses := map[string]deployv1alpha1.TargetStatus{}
	for _, ts := range d.Status.Targets {
		statuses[ts.Name] = ts
	}
	selected := deployment.SelectedTargets(&d.Spec)
	for _, name := range deployment.TopologicalOrder(&d.Spec) {
		if !slices.Contains(selected, name) {
			continue
		}
		p.Environments = append(p.Environments, name)
		t := d.Spec.Targets[name]
		ts := statuses[name]
		var before []deployv1alpha1.BeforeDeploymentStep
		var after []deployv1alpha1.AfterDeploymentStep
		var deps []string
		if t.Constraints != nil {
			before, after = t.Constraints.BeforeDeployment, t.Constraints.AfterDeployment
			for _, dep := range t.Constraints.DependsOn {
				if slices.Contains(selected, dep) {
					deps = append(deps, dep)
				}
			}
		}
		for i, g := range before {
			gate := deployment.GateName(deployment.BeforeDeploymentGate, i)
			p.Steps = append(p.Steps, gateStep(name, gate, g.Pause, g.RunWebhook, nil, beforeGateStatus(ts, waiting[name+"/"+gate])))
		}
		account := ts.Account
		if account == "" {
			account = t.Account
		}
		p.Steps = append(p.Steps, Step{
			Type: "deployment", Status: targetStatusWord(ts), Ref: name, DependsOn: deps,
			Deployment: &StepDeployment{ID: ts.RolloutName, Environment: name, Account: account, Step: ts.CurrentStep, TotalSteps: ts.TotalSteps, Weight: ts.Weight, Message: ts.Message,
				Previews: nilIfEmpty(deployv1alpha1.PreviewURLs(ts.Previews)), PreviewsExpireAt: firstExpiry(ts.Previews, "")},
		})
		for _, pa := range d.Status.PendingApprovals {
			if pa.Target == name && !deployment.IsConstraintGate(pa.Gate) {
				p.Steps = append(p.Steps, Step{Type: "pause", Status: string(deployv1alpha1.StateAwaitingApproval), Ref: name + "/" + pa.Gate, ConstraintFor: name,
					Pause: &StepPause{UntilApproved: true, RequiresRoles: orEmpty(pa.RequiresRoles)}})
			}
		}
		for i, g := range after {
			gate := deployment.GateName(deployment.AfterDeploymentGate, i)
			p.Steps = append(p.Steps, gateStep(name, gate, g.Pause, g.RunWebhook, g.Analysis, afterGateStatus(ts, waiting[name+"/"+gate])))
		}
	}
	return p
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// targetStatusWord is the status word of a target; QUEUED while it waits for its dependencies.
func targetStatusWord(ts deployv1alpha1.TargetStatus) string {
	if ts.State == "" {
		return string(deployv1alpha1.StateQueued)
	}
	return string(ts.State)
}

// gateStep is the step of a constraint gate.
func gateStep(target, gate string, pause *deployv1alpha1.PauseStep, hook *deployv1alpha1.RunWebhookStep, analysis *deployv1alpha1.AnalysisStep, status string) Step {
	st := Step{Status: status, Ref: target + "/" + gate, ConstraintFor: target}
	switch {
	case pause != nil:
		st.Type = "pause"
		st.Pause = &StepPause{Duration: pause.Duration, Unit: string(pause.Unit), UntilApproved: pause.UntilApproved, RequiresRoles: orEmpty(pause.RequiresRoles)}
	case hook != nil:
		st.Type = "webhook"
		st.Webhook = &StepWebhook{Name: hook.Name}
	case analysis != nil:
		st.Type = "analysis"
		st.Analysis = &StepAnalysis{Queries: orEmpty(analysis.Queries)}
	}
	return st
}

// beforeGateStatus: waiting for approval; passed once the target's Rollout exists; otherwise the
// target's own state while it is paused or finished, else QUEUED.
func beforeGateStatus(ts deployv1alpha1.TargetStatus, waiting deployv1alpha1.PendingApproval) string {
	switch {
	case waiting.Gate != "":
		return string(deployv1alpha1.StateAwaitingApproval)
	case ts.RolloutName != "":
		return string(deployv1alpha1.StateSucceeded)
	case ts.State == deployv1alpha1.StatePaused || ts.State == deployv1alpha1.StateRunning || ts.State.IsFinal():
		return string(ts.State)
	}
	return string(deployv1alpha1.StateQueued)
}

// afterGateStatus: waiting for approval; the target's state once it is final; otherwise QUEUED
// (the gates run after the target's Rollout succeeded).
func afterGateStatus(ts deployv1alpha1.TargetStatus, waiting deployv1alpha1.PendingApproval) string {
	switch {
	case waiting.Gate != "":
		return string(deployv1alpha1.StateAwaitingApproval)
	case ts.State.IsFinal():
		return string(ts.State)
	case ts.FinishedAt != nil:
		return string(ts.State)
	}
	return string(deployv1alpha1.StateQueued)
}

// TargetDeployment is the answer of GET /deployments/{deploymentId}: one target's Rollout.
type TargetDeployment struct {
	ID          string            `json:"id"`
	PipelineID  string            `json:"pipelineId"`
	Target      string            `json:"target"`
	Environment string            `json:"environment"`
	Account     string            `json:"account"`
	Status      string            `json:"status"`
	Step        int32             `json:"step"`
	TotalSteps  int32             `json:"totalSteps"`
	Weight      int32             `json:"weight"`
	Message     string            `json:"message"`
	Steps       []RolloutStep     `json:"steps"`
	Analysis    []RolloutAnalysis `json:"analysis"`
	Webhooks    []RolloutWebhook  `json:"webhooks"`
	// Previews are the preview links by Service (the latest link of each Service that has one).
	Previews map[string]string `json:"previews"`
	// PreviewsExpireAt is when the first of those links expires (ISO 8601); empty without links.
	PreviewsExpireAt string `json:"previewsExpiresAtIso8601,omitempty"`
	// BlueGreen is the progress of a blue/green strategy, from the Rollout's status.blueGreen.
	BlueGreen *RolloutBlueGreen `json:"blueGreen,omitempty"`
}

// RolloutStep is one step of a target's strategy, or one condition of a blue/green strategy.
type RolloutStep struct {
	Index  int    `json:"index"`
	Gate   string `json:"gate"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Weight *int32 `json:"weight,omitempty"`
	// State and Message are a blue/green condition's state (Pending, Running, Paused,
	// AwaitingApproval, Passed or Failed) and what it waits for or why it passed or failed.
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
	// Preview are the links an exposeServices step or condition made, once it made them.
	Preview *StepPreview `json:"preview,omitempty"`
}

// StepPreview are the preview links of one exposeServices step: a URL per Service and when they
// expire.
type StepPreview struct {
	Previews  map[string]string `json:"previews"`
	ExpiresAt string            `json:"expiresAtIso8601"`
}

// RolloutBlueGreen is the progress of a blue/green strategy: the versions the active and preview
// Services select and the state of every condition.
type RolloutBlueGreen struct {
	ActiveVersion  string                   `json:"activeVersion"`
	PreviewVersion string                   `json:"previewVersion"`
	Conditions     []BlueGreenConditionView `json:"conditions"`
}

// BlueGreenConditionView is the state of one blue/green condition.
type BlueGreenConditionView struct {
	Gate    string `json:"gate"`
	Kind    string `json:"kind"`
	State   string `json:"state"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// RolloutAnalysis is an analysis step of a target's strategy.
type RolloutAnalysis struct {
	Gate    string   `json:"gate"`
	Queries []string `json:"queries"`
}

// RolloutWebhook is a webhook step of a target's strategy.
type RolloutWebhook struct {
	Gate string `json:"gate"`
	Name string `json:"name"`
}

// phaseWords maps Rollout phases to status words.
var phaseWords = map[rolloutv1alpha1.Phase]deployv1alpha1.DeploymentState{
	rolloutv1alpha1.PhasePending: deployv1alpha1.StateQueued, rolloutv1alpha1.PhaseProgressing: deployv1alpha1.StateRunning,
	rolloutv1alpha1.PhasePaused: deployv1alpha1.StatePaused, rolloutv1alpha1.PhaseAwaitingApproval: deployv1alpha1.StateAwaitingApproval,
	rolloutv1alpha1.PhaseSucceeded: deployv1alpha1.StateSucceeded, rolloutv1alpha1.PhaseFailed: deployv1alpha1.StateFailed,
	rolloutv1alpha1.PhaseRolledBack: deployv1alpha1.StateRolledBack, rolloutv1alpha1.PhaseCancelled: deployv1alpha1.StateCancelled,
}

// conditionWords maps blue/green condition states to status words.
var conditionWords = map[rolloutv1alpha1.ConditionState]deployv1alpha1.DeploymentState{
	rolloutv1alpha1.ConditionPending: deployv1alpha1.StateQueued, rolloutv1alpha1.ConditionRunning: deployv1alpha1.StateRunning,
	rolloutv1alpha1.ConditionPaused: deployv1alpha1.StatePaused, rolloutv1alpha1.ConditionAwaitingApproval: deployv1alpha1.StateAwaitingApproval,
	rolloutv1alpha1.ConditionPassed: deployv1alpha1.StateSucceeded, rolloutv1alpha1.ConditionFailed: deployv1alpha1.StateFailed,
}

// conditionWord is the status word of a blue/green condition state; UNKNOWN for another.
func conditionWord(s rolloutv1alpha1.ConditionState) string {
	if w, ok := conditionWords[s]; ok {
		return string(w)
	}
	return StatusUnknown
}

// nilIfEmpty returns nil for an empty map, so that omitempty leaves it out.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// firstExpiry is when the first link with a URL expires, among the previews of gate (all of them
// when gate is empty), as ISO 8601; "" when none has a URL.
func firstExpiry(previews []deployv1alpha1.PreviewLink, gate string) string {
	var first *metav1.Time
	for i, p := range previews {
		if p.URL == "" || (gate != "" && p.Step != gate) {
			continue
		}
		if first == nil || p.ExpiresAt.Before(first) {
			first = &previews[i].ExpiresAt
		}
	}
	return iso(first)
}

// stepPreview is the preview of the step or condition named gate: its links with a URL; nil when it
// has none yet.
func stepPreview(previews []deployv1alpha1.PreviewLink, gate string) *StepPreview {
	var mine []deployv1alpha1.PreviewLink
	for _, p := range previews {
		if p.Step == gate {
			mine = append(mine, p)
		}
	}
	urls := deployv1alpha1.PreviewURLs(mine)
	if len(urls) == 0 {
		return nil
	}
	return &StepPreview{Previews: urls, ExpiresAt: firstExpiry(mine, gate)}
}

// TargetDeploymentOf is the view of one target's Rollout: its strategy's steps with their status
// (a canary's: done before the current step, the Rollout's state at it, QUEUED after; a
// blue/green's conditions: their state in status.blueGreen), the preview links of
// status.previews, and the blue/green progress.
func TargetDeploymentOf(ro *rolloutv1alpha1.Rollout) TargetDeployment {
	status := StatusUnknown
	if w, ok := phaseWords[ro.Status.Phase]; ok {
		status = string(w)
	} else if ro.Status.Phase == "" {
		status = string(deployv1alpha1.StateQueued)
	}
	td := TargetDeployment{
		ID: ro.Name, PipelineID: ro.Spec.DeploymentName, Target: ro.Spec.Target, Environment: ro.Spec.Target, Account: ro.Spec.Account,
		Status: status, Step: ro.Status.CurrentStep, TotalSteps: ro.Status.TotalSteps, Weight: ro.Status.Weight, Message: ro.Status.Message,
		Steps: []RolloutStep{}, Analysis: []RolloutAnalysis{}, Webhooks: []RolloutWebhook{},
		Previews: deployv1alpha1.PreviewURLs(ro.Status.Previews), PreviewsExpireAt: firstExpiry(ro.Status.Previews, ""),
	}
	stepStatus := func(i int) string { // i is 0-based, CurrentStep 1-based
		switch {
		case ro.Status.Phase == rolloutv1alpha1.PhaseSucceeded || int32(i+1) < ro.Status.CurrentStep:
			return string(deployv1alpha1.StateSucceeded)
		case int32(i+1) == ro.Status.CurrentStep:
			return status
		}
		return string(deployv1alpha1.StateQueued)
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		for i, st := range c.Steps {
			gate := deployment.GateName(deployment.StepsGate, i)
			rs := RolloutStep{Index: i, Gate: gate, Status: stepStatus(i)}
			switch {
			case st.SetWeight != nil:
				rs.Type, rs.Weight = "setWeight", &st.SetWeight.Weight
			case st.Pause != nil:
				rs.Type = "pause"
			case st.Analysis != nil:
				rs.Type = "analysis"
				td.Analysis = append(td.Analysis, RolloutAnalysis{Gate: gate, Queries: orEmpty(st.Analysis.Queries)})
			case st.RunWebhook != nil:
				rs.Type = "runWebhook"
				td.Webhooks = append(td.Webhooks, RolloutWebhook{Gate: gate, Name: st.RunWebhook.Name})
			case st.ExposeServices != nil:
				rs.Type, rs.Preview = "exposeServices", stepPreview(ro.Status.Previews, gate)
			}
			td.Steps = append(td.Steps, rs)
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		td.BlueGreen = blueGreenOf(ro)
		states := map[string]BlueGreenConditionView{}
		for _, c := range td.BlueGreen.Conditions {
			states[c.Gate] = c
		}
		n := 0
		for _, group := range []struct {
			kind  string
			conds []deployv1alpha1.BlueGreenCondition
		}{{deployment.RedirectTrafficAfterGate, bg.RedirectTrafficAfter}, {deployment.ShutDownOldVersionAfterGate, bg.ShutDownOldVersionAfter}} {
			for i, cond := range group.conds {
				gate := deployment.GateName(group.kind, i)
				rs := RolloutStep{Index: n, Gate: gate, Status: string(deployv1alpha1.StateQueued)}
				if st, ok := states[gate]; ok {
					rs.Status, rs.State, rs.Message = st.Status, st.State, st.Message
				} else if ro.Status.Phase == rolloutv1alpha1.PhaseSucceeded {
					rs.Status = string(deployv1alpha1.StateSucceeded)
				}
				switch {
				case cond.Pause != nil:
					rs.Type = "pause"
				case cond.Analysis != nil:
					rs.Type = "analysis"
					td.Analysis = append(td.Analysis, RolloutAnalysis{Gate: gate, Queries: orEmpty(cond.Analysis.Queries)})
				case cond.RunWebhook != nil:
					rs.Type = "runWebhook"
					td.Webhooks = append(td.Webhooks, RolloutWebhook{Gate: gate, Name: cond.RunWebhook.Name})
				case cond.ExposeServices != nil:
					rs.Type, rs.Preview = "exposeServices", stepPreview(ro.Status.Previews, gate)
				}
				td.Steps = append(td.Steps, rs)
				n++
			}
		}
	}
	return td
}

// blueGreenOf is the blue/green progress of a Rollout's status.blueGreen; the versions of the
// Rollout's status and no conditions before the agent reported any.
func blueGreenOf(ro *rolloutv1alpha1.Rollout) *RolloutBlueGreen {
	out := &RolloutBlueGreen{ActiveVersion: ro.Status.StableRevision, PreviewVersion: ro.Status.CanaryRevision, Conditions: []BlueGreenConditionView{}}
	bg := ro.Status.BlueGreen
	if bg == nil {
		return out
	}
	out.ActiveVersion, out.PreviewVersion = bg.ActiveVersion, bg.PreviewVersion
	for _, c := range bg.Conditions {
		out.Conditions = append(out.Conditions, BlueGreenConditionView{Gate: c.Gate, Kind: c.Kind, State: string(c.State), Status: conditionWord(c.State), Message: c.Message})
	}
	return out
}
