package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// The stages of one Rollout (a Deployment's target), in order, each seen by a watch.
const (
	stageCloudRollout = iota // the Deployment controller created the cloud Rollout
	stageMirrored            // the Hub and the agent mirrored it into the target cluster
	stagePodsReady           // the executor's ReplicaSet of the new version has its 2 pods Ready
	stageTargetDone          // the executor marked the target's Rollout Succeeded
	stageCloudDone           // the agent and the Hub carried that status to the cloud Rollout
	numStages
)

// stageLabels name the stages, cumulative from the Create, and the hops that end at each.
var stageLabels = [numStages]struct{ at, hop string }{
	{"  cloud Rollout created", "  Deployment controller: Create -> cloud Rollout"},
	{"  mirrored Rollout in target", "  Hub + agent: -> mirrored in target"},
	{"  new version's 2 pods Ready", "  executor + kube: -> new pods Ready"},
	{"  target Rollout Succeeded", "  executor: -> target Rollout Succeeded"},
	{"  cloud Rollout Succeeded", "  agent + Hub: -> cloud Rollout Succeeded"},
}

// stageKey is the tracker's key of a stage of a Deployment's target.
func stageKey(stage int, name, target string) string {
	rollout := deployment.RolloutName(name, target)
	switch stage {
	case stageCloudRollout:
		return cloudRolloutKey(rollout)
	case stageMirrored:
		return mirroredKey(target, rollout)
	case stagePodsReady:
		return podsReadyKey(target, name) // the application's namespace is its name
	case stageTargetDone:
		return targetDoneKey(target, rollout)
	default:
		return cloudRolloutDoneKey(rollout)
	}
}

// stageTimes collects the stages of Rollouts, and of their Deployments, from each Deployment's
// Create returning.
type stageTimes struct {
	rollouts  [][numStages]time.Duration
	last      []time.Duration // per Deployment: SUCCEEDED minus its last cloud Rollout Succeeded
	succeeded []time.Duration // per Deployment: SUCCEEDED
}

// add waits until every stage of a final Deployment's targets has been seen (informers of different
// objects deliver in no set order) and records them. It fails when a stage ended other than
// Succeeded.
func (st *stageTimes) add(ctx context.Context, tr *tracker, name string, targets []string, created time.Time) error {
	final, note, err := tr.wait(ctx, deploymentFinalKey(name))
	if err != nil {
		return err
	}
	if note != string(deployv1alpha1.StateSucceeded) {
		return fmt.Errorf("deployment %s ended %s", name, note)
	}
	var lastDone time.Time
	for _, target := range targets {
		var r [numStages]time.Duration
		for stage := range numStages {
			at, note, err := tr.wait(ctx, stageKey(stage, name, target))
			if err != nil {
				return fmt.Errorf("deployment %s, target %s: %w", name, target, err)
			}
			if note != "" && note != string(rolloutv1alpha1.PhaseSucceeded) {
				return fmt.Errorf("deployment %s, target %s: %s ended %s", name, target, stageKey(stage, name, target), note)
			}
			r[stage] = at.Sub(created)
			if stage == stageCloudDone && at.After(lastDone) {
				lastDone = at
			}
		}
		st.rollouts = append(st.rollouts, r)
	}
	st.last = append(st.last, final.Sub(lastDone))
	st.succeeded = append(st.succeeded, final.Sub(created))
	return nil
}

// stage returns the distribution of one stage, from the Create.
func (st *stageTimes) stage(stage int) dist {
	ds := make([]time.Duration, len(st.rollouts))
	for i, r := range st.rollouts {
		ds[i] = r[stage]
	}
	return distOf(ds)
}

// hop returns the distribution of one stage from the stage before it.
func (st *stageTimes) hop(stage int) dist {
	if stage == 0 {
		return st.stage(0)
	}
	ds := make([]time.Duration, len(st.rollouts))
	for i, r := range st.rollouts {
		ds[i] = r[stage] - r[stage-1]
	}
	return distOf(ds)
}

// write prints where the time goes, hop by hop, then cumulative from the Create.
func (st *stageTimes) write(t *strings.Builder, perWhat string) {
	fmt.Fprintf(t, "where the time goes, hop by hop (%s):\n", perWhat)
	for stage := range numStages {
		t.WriteString(row(stageLabels[stage].hop, st.hop(stage)))
	}
	t.WriteString(row("  Deployment controller: last target -> SUCCEEDED", distOf(st.last)))
	fmt.Fprintf(t, "cumulative from the Create (%s):\n", perWhat)
	for stage := range numStages {
		t.WriteString(row(stageLabels[stage].at, st.stage(stage)))
	}
	t.WriteString(row("  Deployment SUCCEEDED", distOf(st.succeeded)))
}
