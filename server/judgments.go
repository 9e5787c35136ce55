package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
)

// JudgmentRequest is the optional body of POST /pipelines/{id}/{decision}.
type JudgmentRequest struct {
	// Target narrows the decision to one target.
	Target string `json:"target,omitempty"`
	// Gate narrows it to one gate of the target, as pendingApprovals names it.
	Gate string `json:"gate,omitempty"`
	// Reason says why.
	Reason string `json:"reason,omitempty"`
}

// JudgmentAnswer is the answer of a decision: the Judgment created and what it names.
type JudgmentAnswer struct {
	Judgment string `json:"judgment"`
	Target   string `json:"target"`
	Gate     string `json:"gate"`
}

// maxReasonLength is the Judgment CRD's limit of spec.reason.
const maxReasonLength = 1024

// decodeJSONBody decodes an optional JSON body strictly into v; an empty body leaves v as is.
func decodeJSONBody(r *http.Request, v any) error {
	body, err := readBody(r, "application/json")
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return invalidField(typeErr.Field, "expected %s, got a JSON %s", typeErr.Type.String(), typeErr.Value)
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f := strings.Trim(field, `"`)
			return invalidField(f, "unknown field %q", f)
		}
		return invalid("the body is not valid JSON: %v", err)
	}
	return nil
}

// judge serves POST /pipelines/{id}/{decision}: it resolves which gate the decision is for,
// checks it as the Judgment controller will (judgment.Decide: 409 when nothing waits, 403 when the
// gate's requiresRoles exclude the caller) and creates the Judgment, with the caller as author.
func (s *Server) judge(decision deployv1alpha1.Decision) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		var req JudgmentRequest
		if err := decodeJSONBody(r, &req); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(req.Reason); n > maxReasonLength {
			return invalidField("reason", "at most %d characters, got %d", maxReasonLength, n)
		}
		if req.Gate != "" && req.Target == "" {
			return invalidField("gate", "a gate needs its target")
		}
		if req.Gate != "" {
			if _, _, ok := deployment.ParseGate(req.Gate); !ok {
				return invalidField("gate", "expected a gate name such as steps[2] or beforeDeployment[0], got %q", req.Gate)
			}
		}
		d, err := s.deploymentOf(r.Context(), c, r.PathValue("id"))
		if err != nil {
			return err
		}
		ans, err := s.decide(r.Context(), c, d, decision, req)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, ans)
		return nil
	}
}

// decide resolves, checks and creates one Judgment on d.
func (s *Server) decide(ctx context.Context, c *caller, d *deployv1alpha1.Deployment, decision deployv1alpha1.Decision, req JudgmentRequest) (*JudgmentAnswer, error) {
	in, err := s.judgmentInputs(ctx, d)
	if err != nil {
		return nil, err
	}
	target, gate, err := ResolveGate(in, decision, req.Target, req.Gate)
	if err != nil {
		return nil, err
	}
	j := newJudgment(c, d, decision, target, gate, req.Reason)
	switch v := judgment.Decide(j, in); v.Reason {
	case deployv1alpha1.ReasonForbidden:
		return nil, forbidden("%s", v.Message)
	case deployv1alpha1.ReasonNotApplicable:
		return nil, conflict("%s", v.Message)
	}
	if err := s.opts.Client.Create(ctx, j); err != nil {
		return nil, fmt.Errorf("creating Judgment %s on %s: %w", decision, d.Name, kubernetesError(err, "the judgment"))
	}
	s.opts.Log.Info("Judgment created", "judgment", j.Name, "namespace", j.Namespace, "pipeline", d.Name, "decision", decision, "target", target, "gate", gate, "author", c.Name)
	return &JudgmentAnswer{Judgment: j.Name, Target: target, Gate: gate}, nil
}

// judgmentInputs reads what judgment.Decide needs, as the Judgment controller does.
func (s *Server) judgmentInputs(ctx context.Context, d *deployv1alpha1.Deployment) (judgment.Inputs, error) {
	in := judgment.Inputs{Deployment: d, Now: s.opts.Now()}
	rollouts := &rolloutv1alpha1.RolloutList{}
	if err := s.opts.Client.List(ctx, rollouts, client.InNamespace(d.Namespace),
		client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: deployment.LabelValue(d.Name)}); err != nil {
		return in, fmt.Errorf("listing the Rollouts of deployment %s: %w", d.Name, err)
	}
	for _, ro := range rollouts.Items {
		if ref := metav1.GetControllerOf(&ro); ref != nil && ref.UID == d.UID {
			in.Rollouts = append(in.Rollouts, ro)
		}
	}
	judgments := &deployv1alpha1.JudgmentList{}
	if err := s.opts.Client.List(ctx, judgments, client.InNamespace(d.Namespace)); err != nil {
		return in, fmt.Errorf("listing the Judgments of namespace %s: %w", d.Namespace, err)
	}
	for _, other := range judgments.Items {
		if deployment.Accepted(&other, d) {
			in.Accepted = append(in.Accepted, other)
		}
	}
	return in, nil
}

// ResolveGate says which target and gate an approve, reject or skip is for when the caller named
// no gate: the only gate waiting for that decision (narrowed by target); 409 ambiguous, listing
// them, when several wait. Rollback and cancel, a named gate, or nothing waiting pass through
// unchanged (judgment.Decide then judges them).
func ResolveGate(in judgment.Inputs, decision deployv1alpha1.Decision, target, gate string) (string, string, error) {
	d := in.Deployment
	if gate != "" || decision == deployv1alpha1.DecisionRollback || decision == deployv1alpha1.DecisionCancel ||
		d == nil || d.Status.StartedAt == nil || d.Status.State.IsFinal() || len(deployment.Validate(&d.Spec)) > 0 {
		return target, gate, nil
	}
	plan := deployment.PlanTargets(deployment.Input{Deployment: d, Rollouts: in.Rollouts, Judgments: in.Accepted, Now: in.Now})
	wantApproval := decision != deployv1alpha1.DecisionSkip
	var matches []deployment.WaitingGate
	for _, w := range plan.Waiting {
		if w.Approval != wantApproval || (target != "" && w.Target != target) {
			continue
		}
		if w.Approval && w.Until != nil && !in.Now.Before(w.Until.Time) {
			continue // expired
		}
		matches = append(matches, w)
	}
	switch len(matches) {
	case 0:
		if wantApproval {
			// A gate-less approval would bind to whatever waits next, whose requiresRoles the caller
			// may lack: deciding ahead of a gate needs its name.
			return "", "", &Error{Status: http.StatusConflict, Code: CodeConflict,
				Message: fmt.Sprintf("nothing waits for %s now; name the target and gate to decide ahead of it", decision)}
		}
		return target, gate, nil
	case 1:
		return matches[0].Target, matches[0].Gate, nil
	}
	e := &Error{Status: http.StatusConflict, Code: CodeAmbiguous,
		Message: fmt.Sprintf("%d gates wait for %s; name one with target and gate", len(matches), decision)}
	for _, m := range matches {
		e.Details = append(e.Details, Detail{Field: "gate", Message: m.Target + "/" + m.Gate})
	}
	return "", "", e
}

// newJudgment is the Judgment of a decision by the caller, with the author annotations the
// Judgment controller reads (roles from the token; admin for tenant and organization admins).
func newJudgment(c *caller, d *deployv1alpha1.Deployment, decision deployv1alpha1.Decision, target, gate, reason string) *deployv1alpha1.Judgment {
	base := d.Name
	if len(base) > 200 {
		base = base[:200]
	}
	roles := slices.Clone(c.Roles)
	slices.Sort(roles)
	j := &deployv1alpha1.Judgment{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s-%s", strings.TrimRight(base, "-"), decision, utilrand.String(5)), Namespace: d.Namespace,
			Labels: map[string]string{StartedViaLabel: "api", InitiatedByTypeLabel: string(c.Type)},
			Annotations: map[string]string{
				judgment.AuthorRolesAnnotation: strings.Join(roles, ","),
				judgment.AuthorAdminAnnotation: fmt.Sprint(c.isAdmin()),
			},
		},
		Spec: deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Target: target, Gate: gate, Decision: decision, Author: truncate(c.Name, 250), Reason: reason},
	}
	return j
}
