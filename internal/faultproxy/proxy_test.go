package faultproxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(c net.Conn, msg string, timeout time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyForwardsBlackholesHealsAndCuts(t *testing.T) {
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := roundTrip(c, "hello", 2*time.Second); err != nil || got != "hello\n" {
		t.Fatalf("forwarding: %q, %v", got, err)
	}

	p.Blackhole()
	if _, err := roundTrip(c, "lost", 300*time.Millisecond); err == nil {
		t.Fatal("a blackholed connection delivered a reply")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("a blackholed connection failed instead of going silent: %v", err)
	}

	p.Heal()
	if _, err := roundTrip(c, "after", time.Second); err == nil {
		t.Error("a connection blackholed across the heal still works; it should have been cut")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := roundTrip(c2, "fresh", 2*time.Second); err != nil || got != "fresh\n" {
		t.Fatalf("a new connection after the heal: %q, %v", got, err)
	}

	p.CutAll()
	if _, err := roundTrip(c2, "cut", time.Second); err == nil {
		t.Error("a cut connection still works")
	}
	if n := p.Accepted(); n != 2 {
		t.Errorf("Accepted() = %d, want 2", n)
	}
}

// taggedServer answers every connection with its tag and a newline, then closes it.
func taggedServer(t *testing.T, tag string) (addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(tag + "\n"))
			_ = c.Close()
		}
	}()
	return l.Addr().String(), func() { _ = l.Close() }
}

// answeredBy dials the proxy and returns the tag of the backend that answered ("" for none).
func answeredBy(t *testing.T, p *Proxy) string {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

func TestProxyFailsOverToTheNextBackend(t *testing.T) {
	first, stopFirst := taggedServer(t, "first")
	second, stopSecond := taggedServer(t, "second")
	defer stopSecond()
	p, err := New(first, second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := answeredBy(t, p); got != "first\n" {
		t.Fatalf("with both backends up: answered by %q, want the first", got)
	}
	stopFirst()
	if got := answeredBy(t, p); got != "second\n" {
		t.Fatalf("with the first backend down: answered by %q, want the second", got)
	}
	p.SetBackends(second, first)
	if got := answeredBy(t, p); got != "second\n" {
		t.Fatalf("after SetBackends: answered by %q, want the second", got)
	}
	stopSecond()
	if got := answeredBy(t, p); got != "" {
		t.Fatalf("with no backend up: answered by %q, want a closed connection", got)
	}
}
