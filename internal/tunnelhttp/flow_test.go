package tunnelhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

// TestFlowControlledBody sends bodies through a Window and an Inbound wired as the two ends of a
// tunnel would be, with the receiver reading slowly, and checks what arrives and that the sender
// never has more than the window in flight.
func TestFlowControlledBody(t *testing.T) {
	for _, size := range []int{0, 1, ChunkBytes, FlowWindowBytes + 7, 3 * FlowWindowBytes} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		window := NewWindow()
		var mu sync.Mutex
		inFlight, maxInFlight := 0, 0
		inbound := NewInbound(int64(size), func(n int) {
			mu.Lock()
			inFlight -= n
			mu.Unlock()
			window.Grant(n)
		})
		errs := make(chan error, 1)
		go func() {
			errs <- SendBody(context.Background(), bytes.NewReader(body), window, int64(size), func(data []byte, end bool) error {
				if len(data) > ChunkBytes {
					t.Errorf("a chunk of %d bytes exceeds %d", len(data), ChunkBytes)
				}
				mu.Lock()
				inFlight += len(data)
				maxInFlight = max(maxInFlight, inFlight)
				mu.Unlock()
				return inbound.Push(data, end)
			})
		}()
		var got bytes.Buffer
		buf := make([]byte, 1000)
		for {
			n, err := inbound.Read(buf)
			got.Write(buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("size %d: reading: %v", size, err)
			}
		}
		if err := <-errs; err != nil {
			t.Fatalf("size %d: sending: %v", size, err)
		}
		if !bytes.Equal(got.Bytes(), body) {
			t.Fatalf("size %d: received %d bytes, not the body", size, got.Len())
		}
		if maxInFlight > FlowWindowBytes {
			t.Fatalf("size %d: %d bytes in flight, more than the window %d", size, maxInFlight, FlowWindowBytes)
		}
	}
}

func TestInboundRefusesWhatExceedsLimits(t *testing.T) {
	in := NewInbound(MaxRequestBodyBytes, nil)
	if err := in.Push(make([]byte, FlowWindowBytes+1), false); !errors.Is(err, ErrWindowExceeded) {
		t.Fatalf("past the window: %v, want ErrWindowExceeded", err)
	}
	if _, err := in.Read(make([]byte, 1)); !errors.Is(err, ErrWindowExceeded) {
		t.Fatalf("reading after the refusal: %v", err)
	}
	small := NewInbound(10, nil)
	if err := small.Push(make([]byte, 11), false); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("past the limit: %v, want ErrBodyTooLarge", err)
	}
	if err := SendBody(context.Background(), bytes.NewReader(make([]byte, 20)), NewWindow(), 10, func([]byte, bool) error { return nil }); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("sending past the limit: %v, want ErrBodyTooLarge", err)
	}
}

func TestWindowTakeWaitsForRoom(t *testing.T) {
	w := NewWindow()
	if n, err := w.Take(context.Background(), FlowWindowBytes*2); err != nil || n != FlowWindowBytes {
		t.Fatalf("Take = %d, %v; want the whole window", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := w.Take(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Take without room = %v, want the context's error", err)
	}
	go w.Grant(5)
	if n, err := w.Take(context.Background(), 100); err != nil || n != 5 {
		t.Fatalf("Take after a grant = %d, %v; want 5", n, err)
	}
	w.End()
	if _, err := w.Take(context.Background(), 1); err == nil {
		t.Fatal("Take after End should fail")
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{
		"Content-Type": {"text/plain"}, "Connection": {"keep-alive, X-Hop"}, "X-Hop": {"1"},
		"Transfer-Encoding": {"chunked"}, "Set-Cookie": {"a=1", "b=2"}, "Authorization": {"Bearer x"},
	}
	got := FromProto(ToProto(h, "Authorization"))
	want := http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers through the tunnel = %v, want %v", got, want)
	}
}
