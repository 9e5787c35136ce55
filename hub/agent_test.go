package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
)

// testAgent is a minimal agent that speaks the tunnel protocol directly with the generated client,
// for the Hub's tests: it sends what the test says and collects what the Hub sends.
type testAgent struct {
	t      testing.TB
	conn   *grpc.ClientConn
	stream tunnelv1.Tunnel_ConnectClient
	cancel context.CancelFunc

	inbox      chan *tunnelv1.Envelope // everything but heartbeats
	heartbeats atomic.Int64
	done       chan struct{}
	recvErr    error

	sendMu    sync.Mutex
	nextID    uint64
	stopBeats chan struct{}
	beatsOnce sync.Once
}

// dialAgent opens a tunnel stream to addr with token (none when empty), trusting tlsConfig.
func dialAgent(t testing.TB, addr string, tlsConfig *tls.Config, token string) *testAgent {
	t.Helper()
	options := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig))}
	if token != "" {
		options = append(options, grpc.WithPerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(token))))
	}
	conn, err := grpc.NewClient(addr, options...)
	if err != nil {
		t.Fatalf("dialing the hub: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(ctx)
	if err != nil {
		cancel()
		_ = conn.Close()
		t.Fatalf("opening the tunnel: %v", err)
	}
	a := &testAgent{t: t, conn: conn, stream: stream, cancel: cancel, inbox: make(chan *tunnelv1.Envelope, 4096),
		done: make(chan struct{}), stopBeats: make(chan struct{})}
	go a.receive()
	t.Cleanup(a.close)
	return a
}

// receive collects the Hub's messages until the stream ends.
func (a *testAgent) receive() {
	defer close(a.done)
	for {
		env, err := a.stream.Recv()
		if err != nil {
			a.recvErr = err
			return
		}
		if env.GetHeartbeat() != nil {
			a.heartbeats.Add(1)
			continue
		}
		a.inbox <- env
	}
}

// send sends a message with the agent's next Envelope id and returns the id.
func (a *testAgent) send(env *tunnelv1.Envelope) uint64 {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	a.nextID++
	env.Id = a.nextID
	env.SentAtUnixNano = time.Now().UnixNano()
	_ = a.stream.Send(env) // A failed send shows as the stream's end.
	return env.Id
}

// hello sends Hello for agent id holding held, expects Welcome and returns it.
func (a *testAgent) hello(id string, held ...*tunnelv1.RolloutRef) *tunnelv1.Welcome {
	a.t.Helper()
	a.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{
		AgentIdentifier: id, AgentVersion: "test-1.0", KubernetesVersion: "v1.37.2", Rollouts: held}}})
	welcome := a.next(10 * time.Second).GetWelcome()
	if welcome == nil {
		a.t.Fatal("the hub did not answer Hello with Welcome")
	}
	return welcome
}

// startHeartbeats sends Heartbeat every interval until the agent closes.
func (a *testAgent) startHeartbeats(interval time.Duration) {
	go func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				a.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}})
			case <-a.stopBeats:
				return
			case <-a.done:
				return
			}
		}
	}()
}

// stopHeartbeats stops the heartbeats startHeartbeats sends.
func (a *testAgent) stopHeartbeats() { a.beatsOnce.Do(func() { close(a.stopBeats) }) }

// next returns the Hub's next message other than Heartbeat, failing the test after timeout.
func (a *testAgent) next(timeout time.Duration) *tunnelv1.Envelope {
	a.t.Helper()
	select {
	case env := <-a.inbox:
		return env
	case <-time.After(timeout):
		a.t.Fatalf("no message from the hub within %s", timeout)
		return nil
	}
}

// nextOrEnd returns the Hub's next message other than Heartbeat, or nil when the stream ended.
func (a *testAgent) nextOrEnd(timeout time.Duration) *tunnelv1.Envelope {
	a.t.Helper()
	select {
	case env := <-a.inbox:
		return env
	case <-a.done:
		select {
		case env := <-a.inbox:
			return env
		default:
			return nil
		}
	case <-time.After(timeout):
		a.t.Fatalf("no message from the hub, and no end, within %s", timeout)
		return nil
	}
}

// expectQuiet fails the test if the Hub sends anything but heartbeats within d.
func (a *testAgent) expectQuiet(d time.Duration) {
	a.t.Helper()
	select {
	case env := <-a.inbox:
		a.t.Fatalf("unexpected message from the hub: %v", env)
	case <-time.After(d):
	}
}

// ended waits for the stream to end and returns its error (nil for a clean end).
func (a *testAgent) ended(timeout time.Duration) error {
	a.t.Helper()
	select {
	case <-a.done:
	case <-time.After(timeout):
		a.t.Fatalf("the stream did not end within %s", timeout)
	}
	if errors.Is(a.recvErr, io.EOF) {
		return nil
	}
	return a.recvErr
}

// ack acknowledges the Hub's message id.
func (a *testAgent) ack(id uint64, ok bool, reason string) {
	a.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{Ack: &tunnelv1.Ack{AckId: id, Ok: ok, Error: reason}}})
}

// close ends the agent's stream and connection.
func (a *testAgent) close() {
	a.stopHeartbeats()
	a.sendMu.Lock()
	_ = a.stream.CloseSend()
	a.sendMu.Unlock()
	a.cancel()
	_ = a.conn.Close()
}
