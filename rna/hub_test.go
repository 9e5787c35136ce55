package rna

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// testHub is a small Hub for the tests: a real gRPC server over TLS on 127.0.0.1 that checks the
// bearer token, answers Hello with Welcome, sends heartbeats, records everything the agent sends
// and lets the test drive each stream.
type testHub struct {
	tunnelv1.UnimplementedTunnelServer
	addr   string
	server *grpc.Server
	// heartbeat is the interval the hub announces and sends heartbeats at.
	heartbeat time.Duration
	// validToken says whether a bearer token is one the auth service issued.
	validToken func(string) bool
	// refuse makes new streams fail with Unavailable while set.
	refuse atomic.Bool
	// streams receives each stream once it was welcomed.
	streams  chan *hubStream
	sessions atomic.Int64
}

// hubStream is one agent stream as the test hub sees it.
type hubStream struct {
	hello    *tunnelv1.Hello
	token    string
	openedAt time.Time
	stream   grpc.BidiStreamingServer[tunnelv1.Envelope, tunnelv1.Envelope]
	sendMu   sync.Mutex
	nextID   uint64
	// closeWith ends the stream, returning the error from the handler.
	closeWith chan error
	// done is closed when the handler returned.
	done chan struct{}

	mu       sync.Mutex
	received []*tunnelv1.Envelope
	changed  chan struct{}
}

func startTestHub(t *testing.T, pki *testPKI, heartbeat time.Duration, validToken func(string) bool) *testHub {
	t.Helper()
	serverTLS := pki.serverTLS(t)
	h := &testHub{heartbeat: heartbeat, validToken: validToken, streams: make(chan *hubStream, 64)}
	h.server = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(serverTLS)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}),
	)
	tunnelv1.RegisterTunnelServer(h.server, h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	h.addr = l.Addr().String()
	go func() { _ = h.server.Serve(l) }()
	t.Cleanup(h.server.Stop)
	return h
}

// Connect serves one agent stream.
func (h *testHub) Connect(stream grpc.BidiStreamingServer[tunnelv1.Envelope, tunnelv1.Envelope]) error {
	if h.refuse.Load() {
		return status.Error(codes.Unavailable, "the test hub refuses streams")
	}
	md, _ := metadata.FromIncomingContext(stream.Context())
	auth := md.Get("authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
		return status.Error(codes.Unauthenticated, "no bearer token")
	}
	token := strings.TrimPrefix(auth[0], "Bearer ")
	if h.validToken != nil && !h.validToken(token) {
		return status.Error(codes.Unauthenticated, "unknown token")
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	if first.GetHello() == nil {
		return status.Error(codes.InvalidArgument, "the first message must be Hello")
	}
	hs := &hubStream{
		hello: first.GetHello(), token: token, openedAt: time.Now(), stream: stream,
		closeWith: make(chan error, 1), done: make(chan struct{}), changed: make(chan struct{}),
	}
	defer close(hs.done)
	session := h.sessions.Add(1)
	if err := hs.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Welcome{Welcome: &tunnelv1.Welcome{
		SessionId: fmt.Sprintf("session-%d", session), HubReplica: "test-hub",
		HeartbeatIntervalMs: uint32(h.heartbeat / time.Millisecond), MaxMessageBytes: 4 << 20,
	}}}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	recvDone := make(chan error, 1)
	go func() {
		for {
			env, err := stream.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			hs.record(env)
		}
	}()
	go func() {
		ticker := time.NewTicker(h.heartbeat)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				_ = hs.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}})
			}
		}
	}()
	h.streams <- hs
	select {
	case err := <-hs.closeWith:
		return err
	case err := <-recvDone:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nextStream waits for the next welcomed stream.
func (h *testHub) nextStream(t *testing.T, timeout time.Duration) *hubStream {
	t.Helper()
	select {
	case hs := <-h.streams:
		return hs
	case <-time.After(timeout):
		t.Fatalf("no agent stream reached the hub within %s", timeout)
		return nil
	}
}

// send sends a message to the agent and returns its Envelope id.
func (hs *hubStream) send(env *tunnelv1.Envelope) error {
	hs.sendMu.Lock()
	defer hs.sendMu.Unlock()
	hs.nextID++
	env.Id = hs.nextID
	env.SentAtUnixNano = time.Now().UnixNano()
	return hs.stream.Send(env)
}

// mustSend sends a payload and returns the Envelope id.
func (hs *hubStream) mustSend(t *testing.T, env *tunnelv1.Envelope) uint64 {
	t.Helper()
	if err := hs.send(env); err != nil {
		t.Fatalf("hub sending %s: %v", payloadName(env), err)
	}
	return env.GetId()
}

// close ends the stream from the hub's side.
func (hs *hubStream) close() {
	select {
	case hs.closeWith <- nil:
	default:
	}
}

func (hs *hubStream) record(env *tunnelv1.Envelope) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.received = append(hs.received, env)
	close(hs.changed)
	hs.changed = make(chan struct{})
}

// waitFor returns the first message the agent sent on this stream that matches, waiting for it.
func (hs *hubStream) waitFor(t *testing.T, timeout time.Duration, what string, match func(*tunnelv1.Envelope) bool) *tunnelv1.Envelope {
	t.Helper()
	deadline := time.After(timeout)
	for {
		hs.mu.Lock()
		for _, env := range hs.received {
			if match(env) {
				hs.mu.Unlock()
				return env
			}
		}
		changed := hs.changed
		hs.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the agent sent no %s within %s", what, timeout)
			return nil
		}
	}
}

// count returns how many received messages match.
func (hs *hubStream) count(match func(*tunnelv1.Envelope) bool) int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for _, env := range hs.received {
		if match(env) {
			n++
		}
	}
	return n
}

// ackOf matches the Ack of the Envelope id.
func ackOf(id uint64) func(*tunnelv1.Envelope) bool {
	return func(env *tunnelv1.Envelope) bool { return env.GetAck() != nil && env.GetAck().GetAckId() == id }
}
