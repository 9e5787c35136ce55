package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := newLimiter(RateLimits{RequestsPerSecond: 1, RequestBurst: 3, FailuresPerMinute: 1, FailureBurst: 2,
		AddressFailuresPerMinute: 60, AddressFailureBurst: 3}, clock)

	for i := range 3 {
		if !l.allowRequest("10.0.0.1") {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	if l.allowRequest("10.0.0.1") {
		t.Error("a request over the burst was allowed")
	}
	if !l.allowRequest("10.0.0.2") {
		t.Error("another address was limited")
	}

	if !l.allowAttempt("client-a", "10.0.0.1") {
		t.Fatal("a first attempt was refused")
	}
	l.recordFailure("client-a", "10.0.0.1")
	l.recordFailure("client-a", "10.0.0.1")
	if l.allowAttempt("client-a", "10.0.0.9") {
		t.Error("a client out of failures was allowed to try again from another address")
	}
	if !l.allowAttempt("client-b", "10.0.0.1") {
		t.Error("another client from the address was refused before the address budget ran out")
	}
	l.recordFailure("client-b", "10.0.0.1") // the address's third failure
	if l.allowAttempt("client-c", "10.0.0.1") {
		t.Error("an address out of failures was allowed to try another client")
	}

	now = now.Add(time.Minute)
	if !l.allowAttempt("client-a", "10.0.0.9") {
		t.Error("the client's budget did not refill after a minute")
	}

	// Idle buckets are dropped.
	for i := range 100 {
		l.allowRequest(fmt.Sprintf("10.1.0.%d", i))
	}
	now = now.Add(time.Hour)
	l.allowRequest("10.0.0.1")
	if n := len(l.requests) + len(l.failures); n > 2 {
		t.Errorf("%d buckets kept after an idle hour", n)
	}
}

func TestGrantedScopes(t *testing.T) {
	held := []string{"api:deployment:full", "read:infrastructure:data"}
	tests := []struct {
		requested []string
		want      []string
		wantErr   bool
	}{
		{nil, held, false},
		{[]string{"read:infrastructure:data"}, []string{"read:infrastructure:data"}, false},
		{[]string{"api:deployment:full", "api:deployment:full"}, []string{"api:deployment:full"}, false},
		{[]string{"api:agentHub:full"}, nil, true},
		{[]string{"api:deployment:full", "api:tenant:full"}, nil, true},
	}
	for _, tt := range tests {
		got, err := grantedScopes(tt.requested, held)
		if (err != nil) != tt.wantErr || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("grantedScopes(%v) = %v, %v; want %v, error %v", tt.requested, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMachineFailuresFromOneAddressDoNotLockOthersOut(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimits{RequestsPerSecond: 100, RequestBurst: 100, FailuresPerMinute: 1, FailureBurst: 3,
		AddressFailuresPerMinute: 60, AddressFailureBurst: 100}, func() time.Time { return now })
	const attacker, agent = "203.0.113.7", "10.0.0.5"
	for range 3 {
		l.recordFailure(machineAccount("ci", attacker), attacker)
	}
	if l.allowAttempt(machineAccount("ci", attacker), attacker) {
		t.Error("the address that failed is not slowed down")
	}
	if !l.allowAttempt(machineAccount("ci", agent), agent) {
		t.Error("another address's logins of the same credential are locked out")
	}
}
