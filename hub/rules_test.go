package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/rest"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/auth/verify"
)

func TestOptionsWithDefaults(t *testing.T) {
	valid := func() Options {
		return Options{
			Cloud: &rest.Config{Host: "https://127.0.0.1:6443"}, Verifier: &verify.Verifier{},
			TLS: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{}}}, Replica: "hub-0",
		}
	}
	got, err := valid().withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	if got.HeartbeatInterval != DefaultHeartbeatInterval || got.SendQueueSize != DefaultSendQueueSize ||
		got.MaxMessageBytes != DefaultMaxMessageBytes || got.StatusWriteInterval != DefaultStatusWriteInterval ||
		got.SendTimeout != 2*DefaultHeartbeatInterval || got.DisconnectGrace != DefaultDisconnectGrace ||
		got.HelloTimeout != DefaultHelloTimeout || got.QueryTimeout != DefaultQueryTimeout || got.DrainTimeout != DefaultDrainTimeout ||
		got.AgentStatusWorkers != DefaultAgentStatusWorkers || got.MaxReconnectDelay != DefaultMaxReconnectDelay ||
		got.Registerer == nil || got.Now == nil || got.Replica != "hub-0" {
		t.Errorf("defaults = %+v", got)
	}
	noGrace := valid()
	noGrace.DisconnectGrace = -1
	if got, err := noGrace.withDefaults(); err != nil || got.DisconnectGrace != 0 {
		t.Errorf("negative DisconnectGrace = %v, %v; want 0", got.DisconnectGrace, err)
	}

	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr string
	}{
		{name: "no cloud", mutate: func(o *Options) { o.Cloud = nil }, wantErr: "Cloud"},
		{name: "no verifier", mutate: func(o *Options) { o.Verifier = nil }, wantErr: "Verifier"},
		{name: "no TLS", mutate: func(o *Options) { o.TLS = nil }, wantErr: "TLS 1.2"},
		{name: "TLS 1.1", mutate: func(o *Options) { o.TLS.MinVersion = tls.VersionTLS11 }, wantErr: "TLS 1.2"},
		{name: "TLS minimum unset", mutate: func(o *Options) { o.TLS.MinVersion = 0 }, wantErr: "TLS 1.2"},
		{name: "no certificate", mutate: func(o *Options) { o.TLS.Certificates = nil }, wantErr: "certificate"},
		{name: "negative heartbeat", mutate: func(o *Options) { o.HeartbeatInterval = -time.Second }, wantErr: "HeartbeatInterval"},
		{name: "sub-millisecond heartbeat", mutate: func(o *Options) { o.HeartbeatInterval = time.Microsecond }, wantErr: "HeartbeatInterval"},
		{name: "negative queue", mutate: func(o *Options) { o.SendQueueSize = -1 }, wantErr: "SendQueueSize"},
		{name: "tiny messages", mutate: func(o *Options) { o.MaxMessageBytes = 10 }, wantErr: "MaxMessageBytes"},
		{name: "negative send timeout", mutate: func(o *Options) { o.SendTimeout = -1 }, wantErr: "SendTimeout"},
		{name: "bad read buffer", mutate: func(o *Options) { o.ReadBufferSize = -2 }, wantErr: "ReadBufferSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid()
			tt.mutate(&opts)
			if _, err := opts.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckHello(t *testing.T) {
	agentHub := principal.Principal{Organization: "acme", Environment: "prod", Scopes: []string{string(iamv1alpha1.ScopeAgentHubFull)}}
	onlyProd := agentHub
	onlyProd.Agents = []string{"prod"}
	noScope := principal.Principal{Organization: "acme", Environment: "prod", Scopes: []string{string(iamv1alpha1.ScopeDeploymentFull)}}
	tests := []struct {
		name  string
		id    string
		p     principal.Principal
		want  codes.Code
		inMsg string
	}{
		{name: "any agent of the tenant", id: "staging", p: agentHub, want: codes.OK},
		{name: "listed agent", id: "prod", p: onlyProd, want: codes.OK},
		{name: "unlisted agent", id: "staging", p: onlyProd, want: codes.PermissionDenied, inMsg: `"staging"`},
		{name: "no agentHub scope", id: "prod", p: noScope, want: codes.PermissionDenied},
		{name: "empty identifier", id: "", p: agentHub, want: codes.InvalidArgument, inMsg: "agent_identifier"},
		{name: "uppercase identifier", id: "Prod", p: agentHub, want: codes.InvalidArgument, inMsg: "cannot name an Agent"},
		{name: "underscore", id: "prod_1", p: agentHub, want: codes.InvalidArgument},
		{name: "too long for a label", id: strings.Repeat("a", 64), p: agentHub, want: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHello(&tunnelv1.Hello{AgentIdentifier: tt.id}, tt.p)
			if status.Code(err) != tt.want || !strings.Contains(status.Convert(err).Message(), tt.inMsg) {
				t.Errorf("checkHello() = %v, want %v containing %q", err, tt.want, tt.inMsg)
			}
		})
	}
}

func TestIsHealthMethod(t *testing.T) {
	tests := map[string]bool{
		"/grpc.health.v1.Health/Check":         true,
		"/grpc.health.v1.Health/Watch":         true,
		"/grpc.health.v1.Health/List":          true,
		"/aurora.tunnel.v1.Tunnel/Connect":     false,
		"/grpc.health.v1.HealthX/Check":        false,
		"/x/grpc.health.v1.Health/Check":       false,
		"/grpc.reflection.v1.ServerReflection": false,
	}
	for method, want := range tests {
		if got := isHealthMethod(method); got != want {
			t.Errorf("isHealthMethod(%q) = %v, want %v", method, got, want)
		}
	}
}

func TestLivenessAndStatusWriteDue(t *testing.T) {
	interval := 10 * time.Second
	liveness := []struct {
		silence time.Duration
		want    bool
	}{{0, false}, {29 * time.Second, false}, {30 * time.Second, false}, {30*time.Second + 1, true}, {time.Hour, true}}
	for _, tt := range liveness {
		if got := livenessExpired(t0, t0.Add(tt.silence), interval); got != tt.want {
			t.Errorf("livenessExpired(after %s) = %v, want %v", tt.silence, got, tt.want)
		}
	}
	due := []struct {
		since time.Duration
		want  bool
	}{{0, false}, {59 * time.Second, false}, {time.Minute, true}, {2 * time.Minute, true}}
	for _, tt := range due {
		if got := statusWriteDue(t0, t0.Add(tt.since), time.Minute); got != tt.want {
			t.Errorf("statusWriteDue(after %s) = %v, want %v", tt.since, got, tt.want)
		}
	}
}

func TestEndCauseStatus(t *testing.T) {
	tests := []struct {
		cause *endCause
		want  codes.Code
		drain bool
	}{
		{endAgentClosed, codes.OK, false},
		{endTokenExpiry, codes.OK, true},
		{endReplaced(time.Second), codes.OK, true},
		{endShutdown(time.Second), codes.OK, true},
		{endHeartbeatTimeout(time.Second), codes.Unavailable, false},
		{endSendQueueFull(time.Second), codes.ResourceExhausted, false},
		{endSendStalled(time.Second), codes.ResourceExhausted, false},
		{endProtocolError("x"), codes.InvalidArgument, false},
		{endReceiveFailed(errors.New("boom")), codes.Unavailable, false},
	}
	for _, tt := range tests {
		if got := status.Code(tt.cause.status()); got != tt.want || tt.cause.drain != tt.drain {
			t.Errorf("%s: code %v drain %v, want %v %v", tt.cause.metric, got, tt.cause.drain, tt.want, tt.drain)
		}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(endReplaced(time.Second))
	if causeOf(ctx).metric != "replaced" {
		t.Errorf("causeOf = %+v", causeOf(ctx))
	}
	parent, stop := context.WithCancel(context.Background())
	child, cancelChild := context.WithCancelCause(parent)
	defer cancelChild(nil)
	stop()
	if causeOf(child) != endAgentGone {
		t.Errorf("causeOf(stream gone) = %+v", causeOf(child))
	}
}

// TestEnqueueDropsASessionWhoseQueueStaysFull checks the backpressure rule without a stream: a
// queue that stays full past the send timeout ends the session with ResourceExhausted.
func TestEnqueueDropsASessionWhoseQueueStaysFull(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	hub := &Server{opts: Options{SendTimeout: 50 * time.Millisecond}, metrics: m}
	ctx, end := context.WithCancelCause(context.Background())
	sess := &session{hub: hub, ctx: ctx, end: end, queue: make(chan *tunnelv1.Envelope, 2)}
	for range 2 {
		if err := sess.enqueue(context.Background(), &tunnelv1.Envelope{}); err != nil {
			t.Fatalf("enqueue into a queue with room: %v", err)
		}
	}
	// A caller whose own context ends first gives up without dropping the session.
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := sess.enqueue(short, &tunnelv1.Envelope{}); !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("enqueue with a short context = %v (session ended: %v)", err, ctx.Err())
	}
	started := time.Now()
	if err := sess.enqueue(context.Background(), &tunnelv1.Envelope{}); !errors.Is(err, errSessionEnded) {
		t.Fatalf("enqueue into a full queue = %v, want errSessionEnded", err)
	}
	if waited := time.Since(started); waited < 50*time.Millisecond {
		t.Errorf("dropped after %s, before the send timeout", waited)
	}
	if cause := causeOf(ctx); cause.metric != "send_queue_full" || status.Code(cause.status()) != codes.ResourceExhausted {
		t.Errorf("cause = %+v", cause)
	}
	if drops := testutil.ToFloat64(m.sendQueueDrops); drops != 1 {
		t.Errorf("send queue drops = %v, want 1", drops)
	}
	// Once ended, enqueue fails at once.
	if err := sess.enqueue(context.Background(), &tunnelv1.Envelope{}); !errors.Is(err, errSessionEnded) {
		t.Errorf("enqueue after the end = %v", err)
	}
}

func TestRegistry(t *testing.T) {
	reg := newRegistry()
	key := agentKey{namespace: "ns", agent: "prod"}
	first := &session{id: "s1", key: key, connectedAt: t0}
	first.touch(t0)
	if old, err := reg.connect(first, connected("s1", t0)); err != nil || old != nil {
		t.Fatalf("connect = %v, %v", old, err)
	}
	second := &session{id: "s2", key: key, connectedAt: t0.Add(time.Second)}
	second.touch(t0.Add(time.Second))
	if old, err := reg.connect(second, connected("s2", t0.Add(time.Second))); err != nil || old != first {
		t.Fatalf("second connect replaced %v, %v", old, err)
	}
	if reg.disconnect(first, t0.Add(2*time.Second), "x") {
		t.Error("the replaced session's end was recorded")
	}
	if reg.session(key) != second {
		t.Error("the live session is not the newer one")
	}
	second.touch(t0.Add(5 * time.Second))
	rec, written, ok := reg.snapshot(key)
	if !ok || rec.SessionID != "s2" || !rec.Connected || !rec.LastHeartbeatAt.Equal(t0.Add(5*time.Second)) || written != (writtenState{}) {
		t.Errorf("snapshot = %+v, %+v, %v", rec, written, ok)
	}
	if pending := reg.pending(); len(pending) != 1 {
		t.Errorf("pending = %v", pending)
	}
	reg.markWritten(key, rec)
	if pending := reg.pending(); len(pending) != 0 {
		t.Errorf("pending after write = %v", pending)
	}
	if got := reg.connected(); len(got) != 1 || got[0].SessionID != "s2" || got[0].Agent != "prod" {
		t.Errorf("connected = %+v", got)
	}
	if !reg.disconnect(second, t0.Add(time.Minute), "bye") {
		t.Fatal("the live session's end was not recorded")
	}
	rec, _, _ = reg.snapshot(key)
	if rec.Connected || rec.DisconnectReason != "bye" || !rec.DisconnectedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("record after the end = %+v", rec)
	}
	reg.markWritten(key, rec)
	if _, _, ok := reg.snapshot(key); ok {
		t.Error("a written ended tunnel is still remembered")
	}
	third := &session{id: "s3", key: key}
	if sessions := reg.close(); len(sessions) != 0 {
		t.Errorf("close returned %d sessions", len(sessions))
	}
	if _, err := reg.connect(third, connected("s3", t0)); !errors.Is(err, errRegistryClosed) {
		t.Errorf("connect after close = %v", err)
	}
}
