package executor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ObjectRef names a workload in the Rollout's namespace: a ReplicaSet or an apps/v1 Deployment.
type ObjectRef struct {
	// Kind is ReplicaSet or Deployment.
	Kind string
	// Name is the object's name.
	Name string
}

// Kinds of workloads an ObjectRef names.
const (
	// KindReplicaSet names a version's ReplicaSet.
	KindReplicaSet = "ReplicaSet"
	// KindDeployment names an apps/v1 Deployment of a manifest's name.
	KindDeployment = "Deployment"
)

// IsZero reports whether the ref names nothing.
func (r ObjectRef) IsZero() bool { return r.Name == "" }

// String is "<kind>/<name>", or empty.
func (r ObjectRef) String() string {
	if r.IsZero() {
		return ""
	}
	return r.Kind + "/" + r.Name
}

// parseObjectRef is the inverse of ObjectRef.String.
func parseObjectRef(s string) (ObjectRef, error) {
	if s == "" {
		return ObjectRef{}, nil
	}
	kind, name, ok := strings.Cut(s, "/")
	if !ok || name == "" || (kind != KindReplicaSet && kind != KindDeployment) {
		return ObjectRef{}, fmt.Errorf("%q names no ReplicaSet or Deployment", s)
	}
	return ObjectRef{Kind: kind, Name: name}, nil
}

// WorkloadState is the state of an execution for one workload, kept in annotations of the new
// version's ReplicaSet: written with each change of the version's replicas, read back after a
// restart.
type WorkloadState struct {
	// StartedAt is when the execution started.
	StartedAt time.Time
	// Step is the 1-based step of the plan the execution is at.
	Step int32
	// StepStartedAt is when that step began.
	StepStartedAt time.Time
	// Decisions are the names of the decisions handled (acted on or discarded).
	Decisions []string
	// Stable is the version the new one replaces; zero for none.
	Stable ObjectRef
	// StableReplicas is the stable version's replicas before the Rollout.
	StableReplicas int32
	// FullReplicas is the count that weights split.
	FullReplicas int32
	// HPA is the JSON of the HorizontalPodAutoscaler frozen for the Rollout, or empty.
	HPA string
	// Role is canary while the Rollout runs, stable once it finalizes.
	Role string
	// Passed are the gates of the blue/green conditions that passed.
	Passed []string
	// Selectors are the selectors of the Services the execution switches, as they were when the
	// new version was created (by Service name), restored by a rollback.
	Selectors map[string]map[string]string
}

// Annotations returns the annotations that hold the state.
func (s WorkloadState) Annotations() map[string]string {
	a := map[string]string{
		StartedAtAnnotation:      formatTime(s.StartedAt),
		StepAnnotation:           strconv.Itoa(int(s.Step)),
		StepStartedAtAnnotation:  formatTime(s.StepStartedAt),
		DecisionsAnnotation:      strings.Join(s.Decisions, ","),
		StableAnnotation:         s.Stable.String(),
		StableReplicasAnnotation: strconv.Itoa(int(s.StableReplicas)),
		FullReplicasAnnotation:   strconv.Itoa(int(s.FullReplicas)),
		RoleAnnotation:           s.Role,
	}
	if s.HPA != "" {
		a[HPAAnnotation] = s.HPA
	}
	if len(s.Passed) > 0 {
		a[PassedAnnotation] = strings.Join(s.Passed, ",")
	}
	if len(s.Selectors) > 0 {
		a[SelectorsAnnotation] = formatSelectors(s.Selectors)
	}
	return a
}

// ParseWorkloadState reads the state from a ReplicaSet's annotations.
func ParseWorkloadState(a map[string]string) (WorkloadState, error) {
	var s WorkloadState
	var err error
	if s.StartedAt, err = parseTime(a[StartedAtAnnotation]); err != nil {
		return s, fmt.Errorf("annotation %s: %w", StartedAtAnnotation, err)
	}
	step, err := strconv.Atoi(a[StepAnnotation])
	if err != nil || step < 1 {
		return s, fmt.Errorf("annotation %s: %q is not a step", StepAnnotation, a[StepAnnotation])
	}
	s.Step = int32(step)
	if s.StepStartedAt, err = parseTime(a[StepStartedAtAnnotation]); err != nil {
		return s, fmt.Errorf("annotation %s: %w", StepStartedAtAnnotation, err)
	}
	if d := a[DecisionsAnnotation]; d != "" {
		s.Decisions = strings.Split(d, ",")
	}
	if s.Stable, err = parseObjectRef(a[StableAnnotation]); err != nil {
		return s, fmt.Errorf("annotation %s: %w", StableAnnotation, err)
	}
	if s.StableReplicas, err = parseCount(a[StableReplicasAnnotation]); err != nil {
		return s, fmt.Errorf("annotation %s: %w", StableReplicasAnnotation, err)
	}
	if s.FullReplicas, err = parseCount(a[FullReplicasAnnotation]); err != nil {
		return s, fmt.Errorf("annotation %s: %w", FullReplicasAnnotation, err)
	}
	s.HPA = a[HPAAnnotation]
	s.Role = a[RoleAnnotation]
	if p := a[PassedAnnotation]; p != "" {
		s.Passed = strings.Split(p, ",")
	}
	if s.Selectors, err = parseSelectors(a[SelectorsAnnotation]); err != nil {
		return s, fmt.Errorf("annotation %s: %w", SelectorsAnnotation, err)
	}
	return s, nil
}

// ExecutionState is the state of an execution across its workloads.
type ExecutionState struct {
	// Step is the 1-based step of the plan.
	Step int32
	// StepStartedAt is when the step began.
	StepStartedAt time.Time
	// Decisions are the decisions handled.
	Decisions []string
	// Passed are the gates of the blue/green conditions that passed.
	Passed []string
}

// combineStates merges the states of the workloads of one execution: the furthest step (workloads
// may lag by one write), the earliest start of that step, the union of handled decisions. Nil
// states (versions not created yet) are skipped; ok is false when all are nil.
func combineStates(states []*WorkloadState) (ExecutionState, bool) {
	var e ExecutionState
	found := false
	for _, s := range states {
		if s == nil {
			continue
		}
		switch {
		case !found || s.Step > e.Step:
			e.Step, e.StepStartedAt = s.Step, s.StepStartedAt
		case s.Step == e.Step && s.StepStartedAt.Before(e.StepStartedAt):
			e.StepStartedAt = s.StepStartedAt
		}
		found = true
		for _, d := range s.Decisions {
			if !slices.Contains(e.Decisions, d) {
				e.Decisions = append(e.Decisions, d)
			}
		}
		for _, g := range s.Passed {
			if !slices.Contains(e.Passed, g) {
				e.Passed = append(e.Passed, g)
			}
		}
	}
	return e, found
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func parseCount(s string) (int32, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a replica count", s)
	}
	return int32(n), nil
}
