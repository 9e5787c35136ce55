package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimits bound the token endpoint and the login forms against brute force and floods.
type RateLimits struct {
	// RequestsPerSecond and RequestBurst bound all requests from one address. Default 20/s, burst 40.
	RequestsPerSecond float64
	RequestBurst      int
	// FailuresPerMinute and FailureBurst bound failed authentications of one client id, or failed
	// logins of one user: once spent, even the right secret or password is refused until the budget
	// refills. Default 5/min, burst 10.
	FailuresPerMinute float64
	FailureBurst      int
	// AddressFailuresPerMinute and AddressFailureBurst bound failed authentications from one address,
	// whatever the client id (guessing across client ids). Default 30/min, burst 60.
	AddressFailuresPerMinute float64
	AddressFailureBurst      int
}

func (l RateLimits) withDefaults() RateLimits {
	if l.RequestsPerSecond <= 0 {
		l.RequestsPerSecond = 20
	}
	if l.RequestBurst <= 0 {
		l.RequestBurst = 40
	}
	if l.FailuresPerMinute <= 0 {
		l.FailuresPerMinute = 5
	}
	if l.FailureBurst <= 0 {
		l.FailureBurst = 10
	}
	if l.AddressFailuresPerMinute <= 0 {
		l.AddressFailuresPerMinute = 30
	}
	if l.AddressFailureBurst <= 0 {
		l.AddressFailureBurst = 60
	}
	return l
}

// limiter holds token buckets per address (requests, failures) and per client id (failures).
type limiter struct {
	cfg      RateLimits
	now      func() time.Time
	mu       sync.Mutex
	requests map[string]*entry
	failures map[string]*entry
	lastGC   time.Time
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleAfter is how long an unused bucket is kept; a full bucket needs no memory.
const idleAfter = 15 * time.Minute

func newLimiter(cfg RateLimits, now func() time.Time) *limiter {
	return &limiter{cfg: cfg.withDefaults(), now: now, requests: map[string]*entry{}, failures: map[string]*entry{}}
}

// allowRequest spends one request of addr's budget.
func (l *limiter) allowRequest(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	return l.bucket(l.requests, addr, rate.Limit(l.cfg.RequestsPerSecond), l.cfg.RequestBurst, now).AllowN(now, 1)
}

// allowAttempt reports whether the account (client/<client id> or user/<login>) and the address
// still have failures to spend.
func (l *limiter) allowAttempt(account, addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return l.accountFailures(account, now).TokensAt(now) >= 1 && l.addressFailures(addr, now).TokensAt(now) >= 1
}

// recordFailure spends one failure of the account's and of the address's budget.
func (l *limiter) recordFailure(account, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.accountFailures(account, now).AllowN(now, 1)
	l.addressFailures(addr, now).AllowN(now, 1)
}

func (l *limiter) accountFailures(account string, now time.Time) *rate.Limiter {
	return l.bucket(l.failures, account, rate.Limit(l.cfg.FailuresPerMinute/60), l.cfg.FailureBurst, now)
}

func (l *limiter) addressFailures(addr string, now time.Time) *rate.Limiter {
	return l.bucket(l.failures, "addr/"+addr, rate.Limit(l.cfg.AddressFailuresPerMinute/60), l.cfg.AddressFailureBurst, now)
}

func (l *limiter) bucket(m map[string]*entry, key string, r rate.Limit, burst int, now time.Time) *rate.Limiter {
	e, ok := m[key]
	if !ok {
		e = &entry{lim: rate.NewLimiter(r, burst)}
		m[key] = e
	}
	e.seen = now
	return e.lim
}

// gc drops buckets unused for a while, so that a flood of client ids or addresses cannot grow
// memory without bound.
func (l *limiter) gc(now time.Time) {
	if now.Sub(l.lastGC) < time.Minute {
		return
	}
	l.lastGC = now
	for _, m := range []map[string]*entry{l.requests, l.failures} {
		for k, e := range m {
			if now.Sub(e.seen) > idleAfter {
				delete(m, k)
			}
		}
	}
}
