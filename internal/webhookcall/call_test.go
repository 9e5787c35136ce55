package webhookcall

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/templating"
)

func TestRecord(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	hook := &deployv1alpha1.Webhook{Name: "smoke"}
	quiet := &deployv1alpha1.Webhook{Name: "smoke", DisableCallback: true}
	tests := []struct {
		name    string
		w       *deployv1alpha1.Webhook
		status  int
		err     error
		phase   deployv1alpha1.WebhookPhase
		message string
	}{
		{"2xx waits for the callback", hook, 202, nil, deployv1alpha1.WebhookAwaitingCallback, "HTTP 202"},
		{"2xx without callback succeeds", quiet, 200, nil, deployv1alpha1.WebhookSucceeded, "HTTP 200; no callback awaited (disableCallback)"},
		{"an error is retried", hook, 503, errors.New("POST ci: HTTP 503"), deployv1alpha1.WebhookCalling, "POST ci: HTTP 503"},
		{"a template error fails", hook, 0, &TemplateError{errors.New("webhooks[smoke].uriTemplate: {{context.x}} is not set")}, deployv1alpha1.WebhookFailed,
			"webhooks[smoke].uriTemplate: {{context.x}} is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Record("steps[1]", tt.w, 2, at, tt.status, tt.err)
			if got.Phase != tt.phase || got.Message != tt.message || got.Attempts != 2 || got.StatusCode != int32(tt.status) || !got.CalledAt.Time.Equal(at) || got.Gate != "steps[1]" {
				t.Errorf("Record = %+v", got)
			}
		})
	}
}

func TestSend(t *testing.T) {
	var gotAuth, gotBody, gotPath string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotAuth, gotBody, gotPath = r.Header.Get("Authorization"), string(b), r.URL.Path
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	vars := templating.Vars{Armory: map[string]string{"callbackUri": "https://api/webhooks/d/prod/steps%5B1%5D"}, Context: map[string]string{"suite": "smoke"},
		Secrets: func(name string) (string, error) { return "tok-" + name, nil }}
	hook := func(uri string) *deployv1alpha1.Webhook {
		return &deployv1alpha1.Webhook{Name: "smoke", Method: "POST", URITemplate: uri,
			Headers:      []deployv1alpha1.WebhookHeader{{Key: "Authorization", Value: "Bearer {{secrets.ci}}"}},
			BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"cb": "{{armory.callbackUri}}"}`}}
	}
	status, err := Send(context.Background(), srv.Client(), hook(srv.URL+"/run/{{context.suite}}"), vars)
	if err != nil || status != 202 || gotAuth != "Bearer tok-ci" || gotPath != "/run/smoke" || gotBody != `{"cb": "https://api/webhooks/d/prod/steps%5B1%5D"}` {
		t.Fatalf("Send = %d, %v; got %q %q %q", status, err, gotAuth, gotPath, gotBody)
	}
	if status, err = Send(context.Background(), srv.Client(), hook(srv.URL+"/fail"), vars); status != 502 || err == nil || IsTemplateError(err) {
		t.Errorf("a 502 = %d, %v; want a retryable error", status, err)
	}
	_, err = Send(context.Background(), srv.Client(), hook("https://127.0.0.1:1/x?token={{secrets.ci}}"), vars)
	if err == nil || strings.Contains(err.Error(), "tok-ci") || IsTemplateError(err) {
		t.Errorf("no answer = %v; want a retryable error without the secret", err)
	}
	_, err = Send(context.Background(), srv.Client(), hook("ftp://{{secrets.ci}}/x"), vars)
	if !IsTemplateError(err) || strings.Contains(err.Error(), "tok-ci") || !strings.Contains(err.Error(), `"ftp://{{secrets.ci}}/x" is not an http or https URL`) {
		t.Errorf("a bad URL = %v", err)
	}
	if got := Backoff(1); got != time.Second {
		t.Errorf("Backoff(1) = %s", got)
	}
	if got := Backoff(9); got != 30*time.Second {
		t.Errorf("Backoff(9) = %s", got)
	}
}
