package tunnelhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrWindowExceeded means the sender sent more than the room it was granted.
var ErrWindowExceeded = errors.New("the sender exceeded its flow-control window")

// ErrBodyTooLarge means a body grew past its limit.
var ErrBodyTooLarge = errors.New("the body exceeds its size limit")

// Inbound is the receiving half of one direction of an exchange: the chunks that arrived and not
// yet read, at most FlowWindowBytes of them. Reading grants the sender the room it frees through
// grant (called without locks held). It is an io.ReadCloser for the consumer.
type Inbound struct {
	mu       sync.Mutex
	buf      []byte
	total    int64
	limit    int64
	done     bool
	err      error
	readable chan struct{}
	grant    func(n int)
}

// NewInbound returns an empty buffer of a body of at most limit bytes; grant is told how many bytes
// the reader consumed, to pass on to the sender as HttpWindow.
func NewInbound(limit int64, grant func(n int)) *Inbound {
	return &Inbound{limit: limit, grant: grant, readable: make(chan struct{}, 1)}
}

// Push adds a chunk that arrived; end marks the body's end. It fails, and ends the body with that
// error, when the chunk exceeds the window or the body its limit.
func (b *Inbound) Push(data []byte, end bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.total += int64(len(data))
	switch {
	case len(b.buf)+len(data) > FlowWindowBytes:
		b.finishLocked(ErrWindowExceeded)
		return ErrWindowExceeded
	case b.total > b.limit:
		b.finishLocked(fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, b.limit))
		return ErrBodyTooLarge
	}
	b.buf = append(b.buf, data...)
	if end {
		b.finishLocked(io.EOF)
	}
	b.notify()
	return nil
}

// Fail ends the body with err (a cancelled exchange); reads return it once the buffer is empty.
func (b *Inbound) Fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.finishLocked(err)
	}
}

func (b *Inbound) finishLocked(err error) {
	b.done, b.err = true, err
	b.notify()
}

func (b *Inbound) notify() {
	select {
	case b.readable <- struct{}{}:
	default:
	}
}

// Read reads buffered body bytes, waiting for some; it grants the sender the room it frees.
func (b *Inbound) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		if len(b.buf) > 0 {
			n := copy(p, b.buf)
			b.buf = b.buf[n:]
			if len(b.buf) == 0 {
				b.buf = nil
			}
			done := b.done
			b.mu.Unlock()
			if !done && b.grant != nil {
				b.grant(n)
			}
			return n, nil
		}
		if b.done {
			err := b.err
			b.mu.Unlock()
			return 0, err
		}
		b.mu.Unlock()
		<-b.readable
	}
}

// Close stops reading: the body is dropped.
func (b *Inbound) Close() error {
	b.Fail(errors.New("the body was closed"))
	return nil
}

// Window is the sending half of one direction of an exchange: the room the receiver granted.
type Window struct {
	mu    sync.Mutex
	room  int
	wake  chan struct{}
	ended bool
}

// NewWindow returns a window with the initial room, FlowWindowBytes.
func NewWindow() *Window { return &Window{room: FlowWindowBytes, wake: make(chan struct{}, 1)} }

// Grant adds room (an HttpWindow arrived).
func (w *Window) Grant(n int) {
	w.mu.Lock()
	w.room += n
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// End wakes and fails every wait: the exchange is over.
func (w *Window) End() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Take waits until there is room and takes up to want bytes of it, returning how many; it fails
// when ctx ends or the exchange ended.
func (w *Window) Take(ctx context.Context, want int) (int, error) {
	for {
		w.mu.Lock()
		if w.ended {
			w.mu.Unlock()
			return 0, errors.New("the exchange ended")
		}
		if w.room > 0 {
			n := min(want, w.room)
			w.room -= n
			w.mu.Unlock()
			return n, nil
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-w.wake:
		}
	}
}

// SendBody reads body to its end and sends it in chunks of at most ChunkBytes through send, each
// within the window's room; the last chunk has end set. At most limit bytes are read: more fails
// with ErrBodyTooLarge.
func SendBody(ctx context.Context, body io.Reader, w *Window, limit int64, send func(data []byte, end bool) error) error {
	buf := make([]byte, ChunkBytes)
	var sent int64
	for {
		room, err := w.Take(ctx, ChunkBytes)
		if err != nil {
			return err
		}
		n, readErr := io.ReadFull(body, buf[:room])
		sent += int64(n)
		if sent > limit {
			return fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, limit)
		}
		end := errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF)
		if readErr != nil && !end {
			return fmt.Errorf("reading the body: %w", readErr)
		}
		if room > n {
			w.Grant(room - n)
		}
		if n > 0 || end {
			if err := send(append([]byte(nil), buf[:n]...), end); err != nil {
				return err
			}
		}
		if end {
			return nil
		}
	}
}
