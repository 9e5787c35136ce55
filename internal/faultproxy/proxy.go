// Package faultproxy is a TCP proxy for fault-injection tests: it forwards connections to the first
// of its backends that accepts them (as a Service does once a dead endpoint is taken out) and can
// blackhole them (stop forwarding without closing, as a dead network path does), heal them,
// or cut them (close every connection at once).
package faultproxy

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds the dial of one backend.
const dialTimeout = 2 * time.Second

// Proxy forwards TCP connections from its listener to the first backend address that accepts them.
type Proxy struct {
	listener net.Listener

	mu        sync.Mutex
	backends  []string
	blackhole bool
	conns     map[net.Conn]struct{}
	accepted  int
	closed    bool
	wg        sync.WaitGroup
}

// New listens on 127.0.0.1 at a free port and forwards to the first of backends that accepts.
func New(backends ...string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	p := &Proxy{listener: l, backends: backends, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients dial.
func (p *Proxy) Addr() string { return p.listener.Addr().String() }

// SetBackends points new connections at other backend addresses, tried in order.
func (p *Proxy) SetBackends(addrs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = addrs
}

// Blackhole stops forwarding bytes in both directions on every connection, old and new, without
// closing any: writes are swallowed and nothing arrives, until Heal.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
}

// Heal resumes forwarding. Connections blackholed meanwhile are cut, as after a real outage
// their peers' state has diverged; new connections forward normally.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blackhole {
		p.blackhole = false
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// CutAll closes every open connection at once.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Accepted counts the client connections accepted so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	err := p.listener.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		backends := p.backends
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(client, backends)
	}
}

// serve forwards client to the first of backends that accepts a connection; with none, it closes
// client.
func (p *Proxy) serve(client net.Conn, backends []string) {
	defer p.wg.Done()
	var server net.Conn
	for _, backend := range backends {
		var err error
		if server, err = net.DialTimeout("tcp", backend, dialTimeout); err == nil {
			break
		}
	}
	if server == nil {
		_ = client.Close()
		return
	}
	if !p.track(client, server) {
		return
	}
	defer p.untrack(client, server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst, swallowing the bytes while the proxy is blackholed.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	defer func() { _ = dst.Close(); _ = src.Close() }()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			hole := p.blackhole
			p.mu.Unlock()
			if !hole {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return // EOF or a closed connection: the other direction is closed too
		}
	}
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}
