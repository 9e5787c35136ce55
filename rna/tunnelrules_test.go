package rna

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func TestHeartbeatInterval(t *testing.T) {
	for _, tc := range []struct {
		ms   uint32
		want time.Duration
	}{
		{0, DefaultHeartbeatInterval},
		{15000, 15 * time.Second},
		{200, 200 * time.Millisecond},
		{1, minHeartbeatInterval},
	} {
		if got := heartbeatInterval(&tunnelv1.Welcome{HeartbeatIntervalMs: tc.ms}); got != tc.want {
			t.Errorf("heartbeatInterval(%dms) = %s, want %s", tc.ms, got, tc.want)
		}
	}
	if got := livenessCheckPeriod(10 * time.Second); got != time.Second {
		t.Errorf("livenessCheckPeriod(10s) = %s, want 1s", got)
	}
	if got := livenessCheckPeriod(5 * time.Millisecond); got != time.Millisecond {
		t.Errorf("livenessCheckPeriod(5ms) = %s, want 1ms", got)
	}
}

func TestHubSilent(t *testing.T) {
	heard := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{"just heard", 0, false},
		{"two intervals", 20 * time.Second, false},
		{"exactly three intervals", 30 * time.Second, false},
		{"more than three intervals", 30*time.Second + time.Millisecond, true},
		{"a clock that went back", -time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hubSilent(heard, heard.Add(tc.after), 10*time.Second); got != tc.want {
				t.Errorf("hubSilent after %s = %v, want %v", tc.after, got, tc.want)
			}
		})
	}
}

func TestFitMessage(t *testing.T) {
	big := make([]byte, 2000)
	response := &tunnelv1.Envelope{Id: 4, Payload: &tunnelv1.Envelope_Response{Response: &tunnelv1.Response{RequestId: "r", Ok: true, Body: big}}}
	status := &tunnelv1.Envelope{Id: 5, Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{Status: big}}}
	small := &tunnelv1.Envelope{Id: 6, Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}}
	for _, tc := range []struct {
		name      string
		env       *tunnelv1.Envelope
		max       int
		wantSame  bool
		wantError string
	}{
		{"no limit", response, 0, true, ""},
		{"within the limit", small, 100, true, ""},
		{"a response too large fails politely", response, 1000, false, ""},
		{"another message too large cannot be sent", status, 1000, false, "RolloutStatus message has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fitMessage(tc.env, tc.max)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("error = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == tc.env) != tc.wantSame {
				t.Errorf("returned the same envelope: %v, want %v", got == tc.env, tc.wantSame)
			}
			if !tc.wantSame {
				r := got.GetResponse()
				if got.GetId() != 4 || r.GetRequestId() != "r" || r.GetOk() || len(r.GetBody()) != 0 || !strings.Contains(r.GetError(), "limit of 1000") {
					t.Errorf("replacement = %v", got)
				}
			}
		})
	}
}

func TestDisconnectReason(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outcome sessionOutcome
		err     error
		want    string
	}{
		{"drain", sessionOutcome{drain: &tunnelv1.Drain{}}, errDrained, "drained"},
		{"drain error only", sessionOutcome{}, fmt.Errorf("x: %w", errDrained), "drained"},
		{"silent", sessionOutcome{established: true}, errHubSilent, "silent"},
		{"closed", sessionOutcome{established: true}, fmt.Errorf("receiving: %w", errHubClosed), "closed"},
		{"eof", sessionOutcome{}, io.EOF, "closed"},
		{"handshake timeout", sessionOutcome{}, fmt.Errorf("opening: %w", errHandshakeTimeout), "handshake-timeout"},
		{"send timeout", sessionOutcome{established: true}, errSendTimeout, "send-timeout"},
		{"unauthenticated", sessionOutcome{}, fmt.Errorf("opening: %w", status.Error(codes.Unauthenticated, "no")), "unauthenticated"},
		{"permission denied", sessionOutcome{}, status.Error(codes.PermissionDenied, "no"), "permission-denied"},
		{"unavailable", sessionOutcome{}, status.Error(codes.Unavailable, "down"), "unavailable"},
		{"other status", sessionOutcome{}, status.Error(codes.Internal, "bug"), "error"},
		{"other error", sessionOutcome{}, errors.New("listing: forbidden"), "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := disconnectReason(tc.outcome, tc.err); got != tc.want {
				t.Errorf("disconnectReason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPayloadName(t *testing.T) {
	for env, want := range map[*tunnelv1.Envelope]string{
		{Payload: &tunnelv1.Envelope_Hello{}}:         "Hello",
		{Payload: &tunnelv1.Envelope_Welcome{}}:       "Welcome",
		{Payload: &tunnelv1.Envelope_ApplyRollout{}}:  "ApplyRollout",
		{Payload: &tunnelv1.Envelope_DeleteRollout{}}: "DeleteRollout",
		{Payload: &tunnelv1.Envelope_Ack{}}:           "Ack",
		{Payload: &tunnelv1.Envelope_RolloutStatus{}}: "RolloutStatus",
		{Payload: &tunnelv1.Envelope_Request{}}:       "Request",
		{Payload: &tunnelv1.Envelope_Response{}}:      "Response",
		{Payload: &tunnelv1.Envelope_Heartbeat{}}:     "Heartbeat",
		{Payload: &tunnelv1.Envelope_Drain{}}:         "Drain",
		{Payload: &tunnelv1.Envelope_Inventory{}}:     "Inventory",
		{}: "empty",
	} {
		if got := payloadName(env); got != want {
			t.Errorf("payloadName = %q, want %q", got, want)
		}
	}
}

func TestCauseOf(t *testing.T) {
	plain := errors.New("rpc error")
	ctx, cancel := context.WithCancelCause(context.Background())
	if got := causeOf(ctx, plain); got != plain {
		t.Errorf("live context: %v", got)
	}
	cancel(errHubSilent)
	if got := causeOf(ctx, plain); got != errHubSilent {
		t.Errorf("cancelled with a cause: %v", got)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if got := causeOf(ctx2, plain); got != plain {
		t.Errorf("cancelled without a cause: %v", got)
	}
	if got := recvError(io.EOF); got != errHubClosed {
		t.Errorf("recvError(EOF) = %v", got)
	}
}
