package deployment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// WaitingGate is a gate or strategy step that waits for a Judgment now: an approval (approve or
// reject it) or a timed pause (skip it).
type WaitingGate struct {
	Binding
	// Approval is true for a pause untilApproved, false for a timed pause.
	Approval bool
	// RequiresRoles limits who may approve or reject, if set.
	RequiresRoles []string
	// Since is when the wait began.
	Since *metav1.Time
	// Until is when a timed pause ends or an approval expires; nil if never.
	Until *metav1.Time
	// ByExecutor is true for a strategy step, held by the Rollout's executor; false for a
	// constraint gate, held by the Deployment controller.
	ByExecutor bool
	// Callback is true for a constraint webhook waiting for its callback: it takes approve
	// (success) and reject or rollback (failure), but is no pending approval of a person.
	Callback bool
}

// gateDecision is an accepted Judgment bound to one gate.
type gateDecision struct {
	judgment string
	author   string
	decision deployv1alpha1.Decision
	at       time.Time
	// reason is the Judgment's reason (a webhook callback's mdMessage).
	reason string
}

func (g gateDecision) by() string {
	if g.author == "" {
		return "judgment " + g.judgment
	}
	return fmt.Sprintf("judgment %s (%s)", g.judgment, g.author)
}

// gateVerdict is where a target's gates of one kind stand.
type gateVerdict int

const (
	gateWaiting gateVerdict = iota
	gatePassed
	gateRejected
	gateExpired
)

// gatesResult is what a target's gates of one kind come to.
type gatesResult struct {
	verdict gateVerdict
	// passedAt is when the last gate passed (verdict gatePassed).
	passedAt time.Time
	// waiting are the gates still waiting (verdict gateWaiting).
	waiting []WaitingGate
	// wake is when a timed pause ends or an approval expires; zero if never.
	wake time.Time
	// message says what waits, or why the gates failed.
	message string
}

// evalGates runs the pause gates of one kind (beforeDeployment or afterDeployment) of a target,
// all in parallel from start. A timed pause passes at its end, or earlier on a skip (or approve);
// a pause untilApproved passes on an approve and fails on a reject, whichever was applied first,
// and expires at start+approvalExpiration. A reject fails a timed pause too. Decisions applied
// after a gate's end or expiry do not count. Nil pauses (gates of other kinds) pass at once.
func evalGates(target, kind string, pauses []*deployv1alpha1.PauseStep, start time.Time, decisions map[string][]gateDecision, now time.Time) gatesResult {
	res := gatesResult{verdict: gatePassed, passedAt: start}
	var rejected, expired, waitingApproval, waitingTimer []string
	for i, p := range pauses {
		if p == nil {
			continue
		}
		name := GateName(kind, i)
		decs := slices.Clone(decisions[name])
		slices.SortStableFunc(decs, func(a, b gateDecision) int { return a.at.Compare(b.at) })
		if p.UntilApproved {
			var expiry time.Time
			if p.ApprovalExpiration != nil {
				expiry = start.Add(p.ApprovalExpiration.Get())
			}
			decided := false
			for _, d := range decs {
				if !expiry.IsZero() && !d.at.Before(expiry) {
					break
				}
				if d.decision == deployv1alpha1.DecisionApprove {
					res.passedAt = later(res.passedAt, d.at)
					decided = true
					break
				}
				if d.decision == deployv1alpha1.DecisionReject {
					rejected = append(rejected, fmt.Sprintf("%s rejected by %s", name, d.by()))
					decided = true
					break
				}
			}
			switch {
			case decided:
			case !expiry.IsZero() && !now.Before(expiry):
				expired = append(expired, fmt.Sprintf("approval of %s expired at %s", name, expiry.UTC().Format(time.RFC3339)))
			default:
				w := WaitingGate{Binding: Binding{Target: target, Gate: name}, Approval: true,
					RequiresRoles: slices.Clone(p.RequiresRoles), Since: timePtr(start)}
				if !expiry.IsZero() {
					w.Until = timePtr(expiry)
					res.wake = earliest(res.wake, expiry)
				}
				res.waiting = append(res.waiting, w)
				waitingApproval = append(waitingApproval, name)
			}
			continue
		}
		var length time.Duration
		if p.Duration != nil {
			length = deployv1alpha1.ToDuration(int64(*p.Duration), p.Unit)
		}
		end := start.Add(length)
		decided := false
		for _, d := range decs {
			if !d.at.Before(end) {
				break
			}
			if d.decision == deployv1alpha1.DecisionSkip || d.decision == deployv1alpha1.DecisionApprove {
				res.passedAt = later(res.passedAt, d.at)
				decided = true
				break
			}
			if d.decision == deployv1alpha1.DecisionReject {
				rejected = append(rejected, fmt.Sprintf("%s rejected by %s", name, d.by()))
				decided = true
				break
			}
		}
		switch {
		case decided:
		case !now.Before(end):
			res.passedAt = later(res.passedAt, end)
		default:
			res.waiting = append(res.waiting, WaitingGate{Binding: Binding{Target: target, Gate: name},
				Since: timePtr(start), Until: timePtr(end)})
			res.wake = earliest(res.wake, end)
			waitingTimer = append(waitingTimer, fmt.Sprintf("%s until %s", name, end.UTC().Format(time.RFC3339)))
		}
	}
	switch {
	case len(rejected) > 0:
		res = gatesResult{verdict: gateRejected, message: strings.Join(rejected, "; ")}
	case len(expired) > 0:
		res = gatesResult{verdict: gateExpired, message: strings.Join(expired, "; ")}
	case len(res.waiting) > 0:
		res.verdict = gateWaiting
		var parts []string
		if len(waitingApproval) > 0 {
			parts = append(parts, "waiting for approval of "+strings.Join(waitingApproval, ", "))
		}
		if len(waitingTimer) > 0 {
			parts = append(parts, "paused by "+strings.Join(waitingTimer, ", "))
		}
		res.message = strings.Join(parts, "; ")
		res.passedAt = time.Time{}
	}
	return res
}

// awaitsApproval reports whether any waiting gate is an approval.
func awaitsApproval(ws []WaitingGate) bool {
	return slices.ContainsFunc(ws, func(w WaitingGate) bool { return w.Approval && !w.Callback })
}

func beforePauses(t deployv1alpha1.Target) []*deployv1alpha1.PauseStep {
	if t.Constraints == nil {
		return nil
	}
	out := make([]*deployv1alpha1.PauseStep, len(t.Constraints.BeforeDeployment))
	for i, g := range t.Constraints.BeforeDeployment {
		out[i] = g.Pause
	}
	return out
}

func afterPauses(t deployv1alpha1.Target) []*deployv1alpha1.PauseStep {
	if t.Constraints == nil {
		return nil
	}
	out := make([]*deployv1alpha1.PauseStep, len(t.Constraints.AfterDeployment))
	for i, g := range t.Constraints.AfterDeployment {
		out[i] = g.Pause
	}
	return out
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earliest returns the earlier of two times, a zero time counting as "never".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
