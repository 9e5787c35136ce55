// Package webhookcall makes the HTTP call of a deploy file's webhook: its uriTemplate, headers and
// bodyTemplate rendered with the step's variables (secrets resolved last), sent once. The callers
// (the Rollout executor in a target cluster, the Deployment controller in the control plane) keep
// the retries and the wait for the callback. Errors never carry the rendered URL, which may hold
// secrets.
package webhookcall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/templating"
)

// Timeout bounds one call.
const Timeout = 30 * time.Second

// TemplateError is a webhook whose templates do not render, or do not make a request: retrying
// does not help.
type TemplateError struct{ Err error }

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// IsTemplateError reports whether err is a TemplateError.
func IsTemplateError(err error) bool {
	var te *TemplateError
	return errors.As(err, &te)
}

// Send renders w with vars and sends it with c. It returns the HTTP status, and an error unless the
// answer is 2xx: a TemplateError when the request could not be built.
func Send(ctx context.Context, c *http.Client, w *deployv1alpha1.Webhook, vars templating.Vars) (int, error) {
	field := "webhooks[" + w.Name + "]"
	uri, err := templating.Render(field+".uriTemplate", w.URITemplate, vars)
	if err != nil {
		return 0, &TemplateError{err}
	}
	if u, perr := url.Parse(uri); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := vars
		shown.Secrets = nil
		s, _ := templating.Render(field+".uriTemplate", w.URITemplate, shown)
		return 0, &TemplateError{fmt.Errorf("%s.uriTemplate: %q is not an http or https URL", field, s)}
	}
	var body io.Reader
	if w.BodyTemplate != nil {
		b, err := templating.Render(field+".bodyTemplate.inline", w.BodyTemplate.Inline, vars)
		if err != nil {
			return 0, &TemplateError{err}
		}
		body = strings.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, w.Method, uri, body)
	if err != nil {
		return 0, &TemplateError{fmt.Errorf("%s: building the request: %s", field, redactURL(err))}
	}
	for i, h := range w.Headers {
		v, err := templating.Render(fmt.Sprintf("%s.headers[%d].value", field, i), h.Value, vars)
		if err != nil {
			return 0, &TemplateError{err}
		}
		req.Header.Set(h.Key, v)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
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

// Record returns the record of an attempt: waiting for the callback (or Succeeded with
// disableCallback) after a 2xx answer, Calling (to retry) after another answer or none, Failed when
// the templates do not render.
func Record(gate string, w *deployv1alpha1.Webhook, attempt int32, at time.Time, status int, err error) deployv1alpha1.WebhookCall {
	t := at
	rec := deployv1alpha1.WebhookCall{Gate: gate, Name: w.Name, Attempts: attempt, StatusCode: int32(status), Phase: deployv1alpha1.WebhookCalling}
	rec.CalledAt = timeRef(t)
	switch {
	case IsTemplateError(err):
		rec.Phase, rec.Message = deployv1alpha1.WebhookFailed, err.Error()
	case err != nil:
		rec.Message = err.Error()
	case w.DisableCallback:
		rec.Phase, rec.Message = deployv1alpha1.WebhookSucceeded, fmt.Sprintf("HTTP %d; no callback awaited (disableCallback)", status)
	default:
		rec.Phase, rec.Message = deployv1alpha1.WebhookAwaitingCallback, fmt.Sprintf("HTTP %d", status)
	}
	return rec
}

// CallbackURI is a step's {{armory.callbackUri}}: base (<api>/webhooks/<deployment>/<target>), then
// the gate, path-escaped (steps[1] → steps%5B1%5D); empty when base is.
func CallbackURI(base, gate string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(gate)
}

// redactURL drops the URL (which may hold secrets) from a client error.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func timeRef(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}

// DefaultCallbackTimeout is how long a webhook step or gate waits for its callback when the
// webhook sets no timeout: 24 hours, as in Armory.
const DefaultCallbackTimeout = 24 * time.Hour

// maxBackoff bounds the wait between two attempts of a call.
const maxBackoff = 30 * time.Second

// CallbackTimeout is how long a webhook's step or gate waits for the callback.
func CallbackTimeout(w *deployv1alpha1.Webhook) time.Duration {
	if w.Timeout == nil || w.Timeout.Duration <= 0 {
		return DefaultCallbackTimeout
	}
	return w.Timeout.Get()
}

// Backoff is the wait after failed attempt n (1-based) before the next: 1s, 2s, 4s, … up to 30s.
func Backoff(n int32) time.Duration {
	d := time.Second
	for i := int32(1); i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
