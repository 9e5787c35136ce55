package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// callWebhook makes one attempt of a due webhook call from the target cluster: the URI, headers
// and body rendered (armory variables from the execution's start to now, with callbackUri; the
// context; the tenant's secrets resolved last) and sent. It returns the call's new record: waiting
// for the callback (or Succeeded with disableCallback) after a 2xx answer, Calling (to retry) after
// another answer or none, Failed when the templates do not render. Messages never hold secrets.
func (x *execution) callWebhook(ctx context.Context, due *WebhookDue, startedAt time.Time) deployv1alpha1.WebhookCall {
	rec := deployv1alpha1.WebhookCall{Gate: due.Gate, Name: due.Webhook.Name, Attempts: due.Attempt, CalledAt: timeRef(x.now), Phase: deployv1alpha1.WebhookCalling}
	status, err := x.sendWebhook(ctx, due, startedAt)
	rec.StatusCode = int32(status)
	var permanent *templateError
	switch {
	case errors.As(err, &permanent):
		rec.Phase, rec.Message = deployv1alpha1.WebhookFailed, err.Error()
	case err != nil:
		rec.Message = err.Error()
	case due.Webhook.DisableCallback:
		rec.Phase, rec.Message = deployv1alpha1.WebhookSucceeded, fmt.Sprintf("HTTP %d; no callback awaited (disableCallback)", status)
	default:
		rec.Phase, rec.Message = deployv1alpha1.WebhookAwaitingCallback, fmt.Sprintf("HTTP %d", status)
	}
	x.log.Info("Called a webhook", "gate", due.Gate, "webhook", due.Webhook.Name, "attempt", due.Attempt, "status", status, "phase", rec.Phase)
	return rec
}

// templateError is a webhook whose templates do not render: retrying does not help.
type templateError struct{ err error }

func (e *templateError) Error() string { return e.err.Error() }
func (e *templateError) Unwrap() error { return e.err }

// CallbackURI is a step's {{armory.callbackUri}}: the Rollout's callbackBaseURI, then the gate,
// path-escaped (steps[1] → steps%5B1%5D); empty when the Rollout has no callbackBaseURI.
func CallbackURI(base, gate string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(gate)
}

// sendWebhook renders and sends the request; it returns the HTTP status, and an error unless 2xx.
func (x *execution) sendWebhook(ctx context.Context, due *WebhookDue, startedAt time.Time) (int, error) {
	spec := &x.rollout.Spec
	w := due.Webhook
	armory := ArmoryVars(ArmoryInput{
		Start: startedAt, End: x.now, DeploymentID: spec.DeploymentName, Application: spec.Application, Environment: spec.Target,
		Account: spec.Account, Namespace: x.namespace, ReplicaSetName: x.desired, CallbackURI: CallbackURI(spec.CallbackBaseURI, due.Gate),
	})
	vars := TemplateVars{Armory: armory, Context: MergeContext(spec.Context, due.Step.Context), Secrets: x.secretResolver(ctx)}
	field := "webhooks[" + w.Name + "]"
	uri, err := Render(field+".uriTemplate", w.URITemplate, vars)
	if err != nil {
		return 0, &templateError{err}
	}
	if u, perr := url.Parse(uri); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown, _ := Render(field+".uriTemplate", w.URITemplate, TemplateVars{Armory: armory, Context: vars.Context})
		return 0, &templateError{fmt.Errorf("%s.uriTemplate: %q is not an http or https URL", field, shown)}
	}
	var body io.Reader
	if w.BodyTemplate != nil {
		b, err := Render(field+".bodyTemplate.inline", w.BodyTemplate.Inline, vars)
		if err != nil {
			return 0, &templateError{err}
		}
		body = strings.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, w.Method, uri, body)
	if err != nil {
		return 0, &templateError{fmt.Errorf("%s: building the request: %s", field, redactURL(err))}
	}
	for i, h := range w.Headers {
		v, err := Render(fmt.Sprintf("%s.headers[%d].value", field, i), h.Value, vars)
		if err != nil {
			return 0, &templateError{err}
		}
		req.Header.Set(h.Key, v)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := x.r.httpClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %s", w.Method, req.URL.Host, redactURL(err))
	}
	defer resp.Body.Close() //nolint:errcheck // read-only body
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d", w.Method, req.URL.Host, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// redactURL drops the URL (which may hold secrets) from a client error.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
