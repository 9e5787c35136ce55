package server

import (
	"errors"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// admissionDetails turns the Kubernetes API server's refusal of a Deployment (CRD schema and CEL
// rules) into Details with deploy-file paths. ok is false when err is not such a refusal.
func admissionDetails(err error) (details []Detail, ok bool) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		return nil, false
	}
	st := status.Status()
	if st.Details == nil || len(st.Details.Causes) == 0 {
		return []Detail{{Message: deployFileText(st.Message)}}, true
	}
	for _, c := range st.Details.Causes {
		details = append(details, causeDetail(c))
	}
	return details, true
}

// causeDetail converts one cause of an Invalid status.
func causeDetail(c metav1.StatusCause) Detail {
	field := c.Field
	msg := c.Message
	// The API server prefixes a field's own path to messages such as
	// `spec.application in body should match '^[a-z0-9]...'`; keep the message only.
	if field != "" {
		msg = strings.TrimPrefix(msg, field+" in body ")
	}
	if strings.HasPrefix(field, "metadata.") {
		return Detail{Field: "application", Message: "makes an invalid resource name: " + deployFileText(msg)}
	}
	return Detail{Field: DeployFilePath(field), Message: deployFileText(msg)}
}

// kubernetesError maps an error of the Kubernetes API to an API error, where it says something the
// client should know; anything else is internal.
func kubernetesError(err error, what string) error {
	switch {
	case apierrors.IsNotFound(err):
		return notFound("%s not found", what)
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return conflict("%s: %s", what, "it exists already or changed meanwhile; try again")
	case apierrors.IsForbidden(err):
		return newError(http.StatusInternalServerError, CodeInternal, "the API server may not act on %s; check its RBAC", what)
	}
	return err
}
