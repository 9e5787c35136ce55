package rna

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReadyWhileStandby(t *testing.T) {
	failing := func(*http.Request) error { return errNotConnected }
	elected := make(chan struct{})
	check := ReadyWhileStandby(elected, failing)
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	if err := check(req); err != nil {
		t.Errorf("a standby replica is not ready: %v", err)
	}
	close(elected)
	if err := check(req); !errors.Is(err, errNotConnected) {
		t.Errorf("the leader's check = %v, want the wrapped check's failure", err)
	}
}

func TestTunnelConnected(t *testing.T) {
	a := &Agent{metrics: mustMetrics(t, prometheus.NewRegistry())}
	if err := a.TunnelConnected(nil); err == nil {
		t.Error("ready before connecting")
	}
	a.setConnected(true)
	if err := a.TunnelConnected(nil); err != nil || testutil.ToFloat64(a.metrics.connected) != 1 {
		t.Errorf("connected: check %v gauge %v", err, testutil.ToFloat64(a.metrics.connected))
	}
	a.setConnected(false)
	if err := a.TunnelConnected(nil); err == nil || testutil.ToFloat64(a.metrics.connected) != 0 {
		t.Errorf("disconnected: check %v gauge %v", err, testutil.ToFloat64(a.metrics.connected))
	}
}

func mustMetrics(t *testing.T, reg prometheus.Registerer) *agentMetrics {
	t.Helper()
	m, err := newAgentMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMetricsAreSharedWithinARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, second := mustMetrics(t, reg), mustMetrics(t, reg)
	first.applies.WithLabelValues(string(applyApplied)).Inc()
	second.applies.WithLabelValues(string(applyApplied)).Inc()
	if got := testutil.ToFloat64(first.applies.WithLabelValues(string(applyApplied))); got != 2 {
		t.Errorf("applied = %v, want 2: two agents of one registry share their metrics", got)
	}
	if n, err := testutil.GatherAndCount(reg, metricApplies); err != nil || n != 1 {
		t.Errorf("gathered %d applies series (%v), want 1", n, err)
	}
}

func TestRequestKindLabel(t *testing.T) {
	for kind, want := range map[string]string{"inventory": "inventory", "": "unknown", "secrets": "unknown"} {
		if got := requestKindLabel(kind); got != want {
			t.Errorf("requestKindLabel(%q) = %q, want %q", kind, got, want)
		}
	}
}

func TestFifo(t *testing.T) {
	var q fifo[int]
	q.init()
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		q.push(i)
	}
	for want := 1; want <= 3; want++ {
		if got, ok := q.pop(ctx); !ok || got != want {
			t.Errorf("pop = %d, %v, want %d", got, ok, want)
		}
	}
	go func() { time.Sleep(20 * time.Millisecond); q.push(4) }()
	if got, ok := q.pop(ctx); !ok || got != 4 {
		t.Errorf("pop waiting = %d, %v, want 4", got, ok)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := q.pop(cancelled); ok {
		t.Error("pop on an empty queue with an ended context returned an item")
	}
}

func TestClientCredentialsTokenSourceValidation(t *testing.T) {
	valid := ClientCredentials{ClientID: "id", ClientSecret: "secret", TokenURL: "https://auth.example/oauth/token"}
	for _, tc := range []struct {
		name   string
		mutate func(*ClientCredentials)
		want   string
	}{
		{"no client id", func(c *ClientCredentials) { c.ClientID = "" }, "client id"},
		{"no secret", func(c *ClientCredentials) { c.ClientSecret = "" }, "client secret"},
		{"no token URL", func(c *ClientCredentials) { c.TokenURL = "" }, "token URL"},
		{"plain http", func(c *ClientCredentials) { c.TokenURL = "http://auth.example/oauth/token" }, "must be https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.mutate(&c)
			_, err := ClientCredentialsTokenSource(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") && c.ClientSecret != "" && strings.Contains(err.Error(), c.ClientSecret) {
				t.Errorf("the error carries the secret: %v", err)
			}
		})
	}
	if _, err := ClientCredentialsTokenSource(context.Background(), valid); err != nil {
		t.Errorf("valid credentials: %v", err)
	}
}
