package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// deployFileTypes are the media types POST /pipelines/kubernetes accepts.
var deployFileTypes = []string{
	"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json",
	"application/vnd.start.kubernetes.pipeline.v2+json", "text/plain",
}

// applicationPattern is the CRD's pattern of spec.application.
var applicationPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// StartAnswer is the answer of POST /pipelines/kubernetes.
type StartAnswer struct {
	PipelineID string   `json:"pipelineId"`
	Warnings   []string `json:"warnings"`
}

// DryRunAnswer is the answer of POST /pipelines/kubernetes?dryRun=true.
type DryRunAnswer struct {
	Valid    bool     `json:"valid"`
	Warnings []string `json:"warnings"`
}

// readBody reads a request body of one of the media types, answering 413 over its limit and 415
// for another type. An empty Content-Type is taken as the first type.
func readBody(r *http.Request, types ...string) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !slices.Contains(types, mt) {
			return nil, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type %q is not accepted here; send one of %s", ct, strings.Join(types, ", "))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge(tooBig.Limit)
		}
		return nil, invalid("reading the request body: %v", err)
	}
	return body, nil
}

// startPipeline is POST /pipelines/kubernetes: strict decoding, the controller's validation and a
// server-side dry-run create (CRD schema and CEL rules), all errors at once; then, unless dryRun,
// the in-flight check and the create in the caller's tenant namespace.
func (s *Server) startPipeline(w http.ResponseWriter, r *http.Request, c *caller) error {
	dryRun := false
	switch v := r.URL.Query().Get("dryRun"); v {
	case "", "false":
	case "true":
		dryRun = true
	default:
		return invalidField("dryRun", "expected true or false, got %q", v)
	}
	body, err := readBody(r, deployFileTypes...)
	if err != nil {
		return err
	}
	spec, details := DecodeDeployFile(body)
	if len(details) > 0 {
		return invalidDeployFile(details)
	}
	d := s.newDeployment(c, spec)
	details = ValidateDeployFile(spec)
	if err := s.opts.Client.Create(r.Context(), d.DeepCopy(), client.DryRunAll); err != nil {
		more, ok := admissionDetails(err)
		if !ok {
			if apierrors.IsNotFound(err) {
				return forbidden("the tenant of this token has no namespace (%s); ask an administrator to create its Tenant", c.namespace)
			}
			return fmt.Errorf("dry-run create of a Deployment in %s: %w", c.namespace, err)
		}
		details = mergeDetails(details, more)
	}
	if len(details) > 0 {
		return invalidDeployFile(details)
	}
	warnings, err := s.agentWarnings(r.Context(), c, spec)
	if err != nil {
		return err
	}
	if dryRun {
		writeJSON(w, http.StatusOK, DryRunAnswer{Valid: true, Warnings: warnings})
		return nil
	}
	if err := s.checkInFlight(r.Context(), c, spec); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := s.opts.Client.Create(r.Context(), d)
		if err == nil {
			break
		}
		if apierrors.IsAlreadyExists(err) && attempt < 3 {
			d = s.newDeployment(c, spec)
			continue
		}
		return fmt.Errorf("creating Deployment of application %s in %s: %w", spec.Application, c.namespace, err)
	}
	s.opts.Log.Info("Started a pipeline", "pipeline", d.Name, "namespace", d.Namespace, "application", spec.Application, "principal", c.Name)
	writeJSON(w, http.StatusAccepted, StartAnswer{PipelineID: d.Name, Warnings: warnings})
	return nil
}

func invalidDeployFile(details []Detail) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Details: details,
		Message: fmt.Sprintf("the deploy file has %d error(s)", len(details))}
}

// mergeDetails appends the details of b that a does not hold yet.
func mergeDetails(a, b []Detail) []Detail {
	for _, d := range b {
		if !slices.Contains(a, d) {
			a = append(a, d)
		}
	}
	return a
}

// newDeployment is the Deployment for spec in the caller's namespace, named
// <application>-<5 random>, labelled with who started it.
func (s *Server) newDeployment(c *caller, spec *deployv1alpha1.DeploymentSpec) *deployv1alpha1.Deployment {
	prefix := spec.Application
	if !applicationPattern.MatchString(prefix) || len(prefix) > 63 {
		prefix = "deployment" // the schema reports the application; keep the name valid
	}
	if len(prefix) > 50 {
		prefix = strings.TrimRight(prefix[:50], "-")
	}
	d := &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: prefix + "-" + utilrand.String(5), Namespace: c.namespace,
			Labels: map[string]string{
				StartedViaLabel: "api", InitiatedByTypeLabel: string(c.Type),
			},
			Annotations: map[string]string{InitiatedByAnnotation: c.Name},
		},
		Spec: *spec.DeepCopy(),
	}
	if applicationPattern.MatchString(spec.Application) && len(spec.Application) <= 63 {
		d.Labels[ApplicationLabel] = spec.Application
	}
	if c.ClientID != "" {
		d.Annotations[InitiatedByClientIDAnnotation] = c.ClientID
	}
	return d
}

// checkInFlight answers 409 when a deployment of the same application is in flight and the new
// one's ifDeploymentInProgress is reject (the default). The Deployment controller applies the
// same rule; this makes the refusal synchronous.
func (s *Server) checkInFlight(ctx context.Context, c *caller, spec *deployv1alpha1.DeploymentSpec) error {
	if dc := spec.DeploymentConfig; dc != nil && dc.IfDeploymentInProgress != nil && dc.IfDeploymentInProgress.Strategy == deployv1alpha1.EnqueueOneInProgress {
		return nil
	}
	list := &deployv1alpha1.DeploymentList{}
	if err := s.opts.Client.List(ctx, list, client.InNamespace(c.namespace)); err != nil {
		return fmt.Errorf("listing Deployments in %s: %w", c.namespace, err)
	}
	for _, d := range list.Items {
		if d.Spec.Application == spec.Application && !d.Status.State.IsFinal() && d.DeletionTimestamp.IsZero() {
			return &Error{Status: http.StatusConflict, Code: CodeConflict,
				Message: fmt.Sprintf("deployment %s of application %s is in flight (%s); deploymentConfig.ifDeploymentInProgress.strategy is reject: wait for it, cancel it, or use enqueueOne", d.Name, spec.Application, statusWord(d.Status.State)),
				Details: []Detail{{Field: "deploymentConfig.ifDeploymentInProgress.strategy", Message: "reject: pipeline " + d.Name + " is in flight"}}}
		}
	}
	return nil
}

// agentWarnings warns about targets whose agent is not registered or not connected in the tenant.
func (s *Server) agentWarnings(ctx context.Context, c *caller, spec *deployv1alpha1.DeploymentSpec) ([]string, error) {
	agents := &deployv1alpha1.AgentList{}
	if err := s.opts.Client.List(ctx, agents, client.InNamespace(c.namespace)); err != nil {
		return nil, fmt.Errorf("listing Agents in %s: %w", c.namespace, err)
	}
	connected := deployment.AgentConnectivity(agents.Items)
	warnings := []string{}
	for _, name := range deployment.SelectedTargets(spec) {
		account := spec.Targets[name].Account
		up, known := connected[account]
		switch {
		case !known:
			warnings = append(warnings, fmt.Sprintf("target %s: no agent %q is registered in this tenant; the target starts once it connects", name, account))
		case !up:
			warnings = append(warnings, fmt.Sprintf("target %s: agent %q is not connected now", name, account))
		}
	}
	return warnings, nil
}

// deploymentOf reads a pipeline's Deployment in the caller's namespace.
func (s *Server) deploymentOf(ctx context.Context, c *caller, id string) (*deployv1alpha1.Deployment, error) {
	d := &deployv1alpha1.Deployment{}
	if err := s.opts.Client.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: id}, d); err != nil {
		return nil, kubernetesError(err, fmt.Sprintf("pipeline %q", id))
	}
	return d, nil
}

// listPipelines is GET /pipelines: the tenant's pipelines, newest first, paginated.
func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request, c *caller) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	list := &deployv1alpha1.DeploymentList{}
	if err := s.opts.Client.List(r.Context(), list, client.InNamespace(c.namespace)); err != nil {
		return fmt.Errorf("listing Deployments in %s: %w", c.namespace, err)
	}
	keyOf := func(d deployv1alpha1.Deployment) pageKey {
		return pageKey{Key: d.CreationTimestamp.UnixNano(), Name: d.Name}
	}
	items := list.Items
	slices.SortFunc(items, func(a, b deployv1alpha1.Deployment) int {
		ka, kb := keyOf(a), keyOf(b)
		switch {
		case before(ka, kb):
			return -1
		case before(kb, ka):
			return 1
		}
		return 0
	})
	page, next := paginate(items, keyOf, pr)
	out := listPage[PipelineSummary]{Items: make([]PipelineSummary, 0, len(page)), Continue: next}
	for i := range page {
		out.Items = append(out.Items, SummarizePipeline(&page[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getPipeline is GET /pipelines/{id}.
func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := s.deploymentOf(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, PipelineOf(d))
	return nil
}

// getPipelineConfig is GET /pipelines/{id}/config: the deploy file (the Deployment's spec) as YAML.
func (s *Server) getPipelineConfig(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := s.deploymentOf(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	out, err := yaml.Marshal(d.Spec)
	if err != nil {
		return fmt.Errorf("rendering the deploy file of %s: %w", d.Name, err)
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// getDeployment is GET /deployments/{id}: one target's Rollout.
func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	ro := &rolloutv1alpha1.Rollout{}
	if err := s.opts.Client.Get(r.Context(), client.ObjectKey{Namespace: c.namespace, Name: id}, ro); err != nil {
		return kubernetesError(err, fmt.Sprintf("deployment %q", id))
	}
	writeJSON(w, http.StatusOK, TargetDeploymentOf(ro))
	return nil
}
