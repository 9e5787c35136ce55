package apiclient

import (
	"encoding/json"

	"github.com/aurora-cd/aurora/server"
)

// The answers and requests below whose shape the REST API defines are the server's own types, so
// that the client and the API cannot drift apart.

// StartResult is the answer of starting (or dry-running) a pipeline.
type StartResult struct {
	// PipelineID names the new pipeline (empty for a dry run).
	PipelineID string `json:"pipelineId,omitempty"`
	// Valid is true for a dry run that found no problem.
	Valid bool `json:"valid,omitempty"`
	// Warnings are problems that did not stop the pipeline.
	Warnings []string `json:"warnings,omitempty"`
	// Status is the HTTP status of the answer (202 started, 200 dry run).
	Status int `json:"-"`
}

// Pipeline is one run of a deploy file.
type Pipeline struct {
	ID                 string            `json:"id"`
	Application        string            `json:"application"`
	Status             string            `json:"status"`
	StartedAtIso8601   string            `json:"startedAtIso8601,omitempty"`
	CompletedAtIso8601 string            `json:"completedAtIso8601,omitempty"`
	InitiatedBy        string            `json:"initiatedBy,omitempty"`
	Description        string            `json:"description,omitempty"`
	Context            map[string]string `json:"context,omitempty"`
	Environments       []string          `json:"environments,omitempty"`
	Steps              []PipelineStep    `json:"steps,omitempty"`
	PendingApprovals   []PendingApproval `json:"pendingApprovals,omitempty"`
	Judgments          []JudgmentRecord  `json:"judgments,omitempty"`

	// Raw is the answer as the API gave it, for json and yaml output.
	Raw json.RawMessage `json:"-"`
}

// PipelineStep is a node of a pipeline's graph: a target's deployment or a gate.
type PipelineStep struct {
	Type          string            `json:"type"`
	Status        string            `json:"status"`
	Ref           string            `json:"ref,omitempty"`
	DependsOn     []string          `json:"dependsOn,omitempty"`
	ConstraintFor string            `json:"constraintFor,omitempty"`
	Deployment    *TargetDeployment `json:"deployment,omitempty"`
	Pause         *Pause            `json:"pause,omitempty"`
}

// TargetDeployment is one target's progress.
type TargetDeployment struct {
	ID          string `json:"id"`
	Environment string `json:"environment,omitempty"`
	Account     string `json:"account,omitempty"`
	Status      string `json:"status,omitempty"`
	Step        int    `json:"step,omitempty"`
	TotalSteps  int    `json:"totalSteps,omitempty"`
	Weight      int    `json:"weight,omitempty"`
	Message     string `json:"message,omitempty"`
}

// Pause is a pause gate or step.
type Pause struct {
	Duration      int      `json:"duration,omitempty"`
	Unit          string   `json:"unit,omitempty"`
	UntilApproved bool     `json:"untilApproved,omitempty"`
	RequiresRoles []string `json:"requiresRoles,omitempty"`
}

// PendingApproval is a gate that waits for a person's decision.
type PendingApproval = server.PendingApproval

// JudgmentRecord is a decision taken on a pipeline.
type JudgmentRecord = server.JudgmentRecord

// PipelineSummary is a row of the pipeline list.
type PipelineSummary = server.PipelineSummary

// JudgmentRequest is the optional body of approve, reject, skip, rollback and cancel.
type JudgmentRequest = server.JudgmentRequest

// JudgmentResult is the answer to a decision.
type JudgmentResult = server.JudgmentAnswer

// ConnectedAgent is a Remote Network Agent registered in the tenant.
type ConnectedAgent = server.ConnectedAgent

// Credential is a machine credential. ClientSecret is set only in the answer that created it.
type Credential struct {
	ID               string   `json:"id,omitempty"`
	Name             string   `json:"name"`
	ClientID         string   `json:"clientId,omitempty"`
	ClientSecret     string   `json:"clientSecret,omitempty"`
	CreatedBy        string   `json:"createdBy,omitempty"`
	CreatedIso8601   string   `json:"createdIso8601,omitempty"`
	ExpiresAtIso8601 string   `json:"expiresAtIso8601,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	Roles            []string `json:"roles,omitempty"`
	AgentIdentifiers []string `json:"agentIdentifiers,omitempty"`
	Description      string   `json:"description,omitempty"`
	Ready            bool     `json:"ready,omitempty"`
}

// NewCredential is the request that creates a credential.
type NewCredential = server.CredentialRequest

// Environment is a tenant the caller may use.
type Environment = server.Environment
