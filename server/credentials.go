package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
)

// CredentialRequest is the body of POST /credentials.
type CredentialRequest struct {
	// Name of the credential: a DNS subdomain name, unique in the tenant.
	Name string `json:"name"`
	// Scopes the credential's tokens may carry.
	Scopes []string `json:"scopes"`
	// Roles granted to the credential in the tenant (requiresRoles of pauses name them).
	Roles []string `json:"roles,omitempty"`
	// AgentIdentifiers limit the agents the credential may connect as; empty means any.
	AgentIdentifiers []string `json:"agentIdentifiers,omitempty"`
	// ExpiresAtIso8601 is when the credential stops issuing tokens; empty means never.
	ExpiresAtIso8601 string `json:"expiresAtIso8601,omitempty"`
	// Description says what it is for.
	Description string `json:"description,omitempty"`
}

// Credential is a machine credential as the API shows it. ClientSecret is set only in the answer
// of POST /credentials: it is shown once.
type Credential struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	ClientID         string   `json:"clientId"`
	ClientSecret     string   `json:"clientSecret,omitempty"`
	CreatedBy        string   `json:"createdBy"`
	CreatedIso8601   string   `json:"createdIso8601"`
	Scopes           []string `json:"scopes"`
	Roles            []string `json:"roles"`
	AgentIdentifiers []string `json:"agentIdentifiers"`
	ExpiresAtIso8601 string   `json:"expiresAtIso8601,omitempty"`
	Ready            bool     `json:"ready"`
}

// CredentialOf is the API's view of a MachineCredential, without its secret.
func CredentialOf(mc *iamv1alpha1.MachineCredential) Credential {
	c := Credential{
		ID: mc.Name, Name: mc.Name, ClientID: mc.Status.ClientID, CreatedBy: mc.Annotations[CreatedByAnnotation],
		CreatedIso8601: iso(&mc.CreationTimestamp), Scopes: []string{}, Roles: orEmpty(mc.Spec.Roles),
		AgentIdentifiers: orEmpty(mc.Spec.AgentIdentifiers), ExpiresAtIso8601: iso(mc.Spec.ExpiresAt),
		Ready: apimeta.IsStatusConditionTrue(mc.Status.Conditions, meta.ReadyCondition),
	}
	for _, s := range mc.Spec.Scopes {
		c.Scopes = append(c.Scopes, string(s))
	}
	return c
}

// CheckCredentialRequest validates a POST /credentials body for a caller holding held (a
// principal's HasScope): every problem with its field. A caller cannot grant a scope it does not
// hold itself.
func CheckCredentialRequest(req CredentialRequest, holds func(iamv1alpha1.Scope) bool, now time.Time) ([]Detail, *metav1.Time) {
	var details []Detail
	if req.Name == "" {
		details = append(details, Detail{Field: "name", Message: "required: a DNS subdomain name such as ci-pipeline"})
	} else if errs := validation.IsDNS1123Subdomain(req.Name); len(errs) > 0 || len(req.Name) > 200 {
		details = append(details, Detail{Field: "name", Message: fmt.Sprintf("expected a DNS subdomain name of at most 200 characters (lower case letters, digits, - and .), got %q", req.Name)})
	}
	if len(req.Scopes) == 0 {
		details = append(details, Detail{Field: "scopes", Message: fmt.Sprintf("required: at least one of %v", iamv1alpha1.KnownScopes)})
	}
	for i, s := range req.Scopes {
		field := fmt.Sprintf("scopes[%d]", i)
		switch {
		case !slices.Contains(iamv1alpha1.KnownScopes, iamv1alpha1.Scope(s)):
			details = append(details, Detail{Field: field, Message: fmt.Sprintf("unknown scope %q; expected one of %v", s, iamv1alpha1.KnownScopes)})
		case !holds(iamv1alpha1.Scope(s)):
			details = append(details, Detail{Field: field, Message: fmt.Sprintf("you do not hold scope %s, so you cannot grant it", s)})
		}
	}
	for i, a := range req.AgentIdentifiers {
		if a == "" || len(a) > 63 {
			details = append(details, Detail{Field: fmt.Sprintf("agentIdentifiers[%d]", i), Message: "expected an agent identifier of 1 to 63 characters"})
		}
	}
	for i, r := range req.Roles {
		if r == "" || len(r) > 253 || strings.ContainsAny(r, ", \t\r\n") {
			details = append(details, Detail{Field: fmt.Sprintf("roles[%d]", i), Message: "expected a role name of 1 to 253 characters without commas or spaces"})
		}
	}
	var expires *metav1.Time
	if req.ExpiresAtIso8601 != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAtIso8601)
		switch {
		case err != nil:
			details = append(details, Detail{Field: "expiresAtIso8601", Message: fmt.Sprintf("expected an RFC 3339 time such as 2030-01-02T15:04:05Z, got %q", req.ExpiresAtIso8601)})
		case !t.After(now):
			details = append(details, Detail{Field: "expiresAtIso8601", Message: "must lie in the future"})
		default:
			expires = &metav1.Time{Time: t}
		}
	}
	return details, expires
}

// createCredential is POST /credentials: it creates the MachineCredential, waits until the
// controller has issued its secret, and answers it once.
func (s *Server) createCredential(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req CredentialRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return err
	}
	details, expires := CheckCredentialRequest(req, c.HasScope, s.opts.Now())
	if len(details) > 0 {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: fmt.Sprintf("the credential has %d error(s)", len(details)), Details: details}
	}
	mc := &iamv1alpha1.MachineCredential{
		ObjectMeta: metav1.ObjectMeta{Name: req.Name, Namespace: c.namespace, Annotations: map[string]string{CreatedByAnnotation: c.Name}},
		Spec:       iamv1alpha1.MachineCredentialSpec{Description: req.Description, Roles: req.Roles, AgentIdentifiers: req.AgentIdentifiers, ExpiresAt: expires},
	}
	for _, sc := range req.Scopes {
		mc.Spec.Scopes = append(mc.Spec.Scopes, iamv1alpha1.Scope(sc))
	}
	if err := s.opts.Client.Create(r.Context(), mc); err != nil {
		if d, ok := admissionDetails(err); ok {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: "the credential was refused", Details: d}
		}
		return kubernetesError(err, fmt.Sprintf("credential %q", req.Name))
	}
	secret, err := s.issuedSecret(r.Context(), mc)
	if err != nil {
		return err
	}
	out := CredentialOf(mc)
	out.ClientSecret = secret
	s.opts.Log.Info("Credential created", "credential", mc.Name, "namespace", mc.Namespace, "clientID", mc.Status.ClientID, "createdBy", c.Name)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// issuedSecret waits until the controller marked mc Ready and reads the client secret from the
// Secret it wrote. mc is refreshed.
func (s *Server) issuedSecret(ctx context.Context, mc *iamv1alpha1.MachineCredential) (string, error) {
	var secret string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, s.opts.CredentialReadyTimeout, true, func(ctx context.Context) (bool, error) {
		if err := s.opts.Client.Get(ctx, client.ObjectKeyFromObject(mc), mc); err != nil {
			return false, fmt.Errorf("reading credential %s: %w", mc.Name, err)
		}
		if apimeta.IsStatusConditionTrue(mc.Status.Conditions, meta.StalledCondition) {
			cond := apimeta.FindStatusCondition(mc.Status.Conditions, meta.StalledCondition)
			return false, newError(http.StatusBadRequest, CodeInvalid, "the credential cannot be issued: %s", cond.Message)
		}
		if !apimeta.IsStatusConditionTrue(mc.Status.Conditions, meta.ReadyCondition) || mc.Status.SecretName == "" {
			return false, nil
		}
		sec := &corev1.Secret{}
		if err := s.opts.Client.Get(ctx, client.ObjectKey{Namespace: mc.Namespace, Name: mc.Status.SecretName}, sec); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if string(sec.Data[machinecredential.ClientIDKey]) != mc.Status.ClientID {
			return false, nil
		}
		secret = string(sec.Data[machinecredential.ClientSecretKey])
		return secret != "", nil
	})
	if err != nil {
		if e := asError(err); e.Code != CodeInternal {
			return "", e
		}
		if ctx.Err() == nil && wait.Interrupted(err) {
			return "", newError(http.StatusServiceUnavailable, CodeUnavailable,
				"credential %s was created but its secret was not issued within %s; is the controller running? Delete it and try again", mc.Name, s.opts.CredentialReadyTimeout)
		}
		return "", err
	}
	return secret, nil
}

// listCredentials is GET /credentials: newest first, paginated.
func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, c *caller) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	list := &iamv1alpha1.MachineCredentialList{}
	if err := s.opts.Client.List(r.Context(), list, client.InNamespace(c.namespace)); err != nil {
		return fmt.Errorf("listing MachineCredentials in %s: %w", c.namespace, err)
	}
	keyOf := func(mc iamv1alpha1.MachineCredential) pageKey {
		return pageKey{Key: mc.CreationTimestamp.UnixNano(), Name: mc.Name}
	}
	slices.SortFunc(list.Items, func(a, b iamv1alpha1.MachineCredential) int {
		if before(keyOf(a), keyOf(b)) {
			return -1
		}
		if before(keyOf(b), keyOf(a)) {
			return 1
		}
		return 0
	})
	page, next := paginate(list.Items, keyOf, pr)
	out := listPage[Credential]{Items: make([]Credential, 0, len(page)), Continue: next}
	for i := range page {
		out.Items = append(out.Items, CredentialOf(&page[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getCredential is GET /credentials/{name}, without the secret.
func (s *Server) getCredential(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	mc := &iamv1alpha1.MachineCredential{}
	if err := s.opts.Client.Get(r.Context(), client.ObjectKey{Namespace: c.namespace, Name: name}, mc); err != nil {
		return kubernetesError(err, fmt.Sprintf("credential %q", name))
	}
	writeJSON(w, http.StatusOK, CredentialOf(mc))
	return nil
}

// deleteCredential is DELETE /credentials/{name}: its tokens can no longer be obtained at once.
func (s *Server) deleteCredential(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: name}}
	if err := s.opts.Client.Delete(r.Context(), mc); err != nil {
		return kubernetesError(err, fmt.Sprintf("credential %q", name))
	}
	s.opts.Log.Info("Credential deleted", "credential", name, "namespace", c.namespace, "by", c.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
