package hub

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestPendingWritesCoalescePerRollout(t *testing.T) {
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	ref := func(uid string, generation int64) rolloutRef {
		return rolloutRef{UID: types.UID(uid), Name: "r-" + uid, Generation: generation}
	}
	report := func(uid string, at time.Duration, message string) reportedStatus {
		r := reportedStatus{ref: ref(uid, 1), observedAt: t0.Add(at)}
		r.status.Message = message
		return r
	}
	type added struct {
		id      uint64 // 0: an applied generation of applied
		report  reportedStatus
		applied rolloutRef
		// what addStatus answers
		superseded uint64
	}
	tests := []struct {
		name string
		adds []added
		// want is what take returns, in order.
		want []pendingWrite
	}{
		{name: "a newer status replaces the one waiting, which needs no write",
			adds: []added{{id: 1, report: report("a", 0, "first")}, {id: 2, report: report("a", time.Second, "second"), superseded: 1}},
			want: []pendingWrite{{ref: ref("a", 1), statusID: 2, status: ptrTo(report("a", time.Second, "second"))}}},
		{name: "an older observation arriving late is itself superseded",
			adds: []added{{id: 1, report: report("a", time.Second, "newer")}, {id: 2, report: report("a", 0, "older"), superseded: 2}},
			want: []pendingWrite{{ref: ref("a", 1), statusID: 1, status: ptrTo(report("a", time.Second, "newer"))}}},
		{name: "the same observation time: the later message wins",
			adds: []added{{id: 1, report: report("a", 0, "one")}, {id: 2, report: report("a", 0, "two"), superseded: 1}},
			want: []pendingWrite{{ref: ref("a", 1), statusID: 2, status: ptrTo(report("a", 0, "two"))}}},
		{name: "Rollouts are written in the order they first arrived, applied generations kept at their highest",
			adds: []added{{applied: ref("b", 3)}, {id: 1, report: report("a", 0, "a")}, {applied: ref("b", 2)}, {id: 2, report: report("b", 0, "b")}},
			want: []pendingWrite{
				{ref: ref("b", 3), applied: 3, statusID: 2, status: ptrTo(report("b", 0, "b"))},
				{ref: ref("a", 1), statusID: 1, status: ptrTo(report("a", 0, "a"))},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			starts := 0
			p := newPendingWrites(func() { starts++ })
			for i, a := range tt.adds {
				if a.id == 0 {
					p.addApplied(a.applied)
					continue
				}
				superseded, full := p.addStatus(a.id, a.report)
				if full || superseded != a.superseded {
					t.Fatalf("add %d: superseded %d full %v, want superseded %d", i, superseded, full, a.superseded)
				}
			}
			if starts != 1 {
				t.Fatalf("the writer was started %d times for one burst of writes, want once", starts)
			}
			for i, want := range tt.want {
				got, ok := p.take()
				if !ok {
					t.Fatalf("take %d: nothing waits, want %+v", i, want)
				}
				if got.ref.UID != want.ref.UID || got.statusID != want.statusID || got.applied != want.applied ||
					got.status.status.Message != want.status.status.Message {
					t.Errorf("take %d: got uid %s id %d applied %d message %q, want uid %s id %d applied %d message %q", i,
						got.ref.UID, got.statusID, got.applied, got.status.status.Message,
						want.ref.UID, want.statusID, want.applied, want.status.status.Message)
				}
			}
			if got, ok := p.take(); ok {
				t.Errorf("left waiting: %+v", got)
			}
		})
	}
}

func TestPendingWritesBound(t *testing.T) {
	p := newPendingWrites(func() {})
	t0 := time.Now()
	for i := range maxPendingRollouts {
		r := reportedStatus{ref: rolloutRef{UID: types.UID(string(rune('a'+i%26)) + time.Duration(i).String())}, observedAt: t0}
		if _, full := p.addStatus(uint64(i+1), r); full {
			t.Fatalf("status %d refused below the bound", i)
		}
	}
	if _, full := p.addStatus(99999, reportedStatus{ref: rolloutRef{UID: "one-too-many"}, observedAt: t0}); !full {
		t.Error("a Rollout beyond maxPendingRollouts was accepted")
	}
	first := rolloutRef{UID: types.UID("a" + time.Duration(0).String())}
	if _, full := p.addStatus(100000, reportedStatus{ref: first, observedAt: t0.Add(time.Second)}); full {
		t.Error("a newer status of a Rollout already waiting was refused at the bound")
	}
	// An acknowledged apply is never refused: the bound is for statuses.
	p.addApplied(rolloutRef{UID: "applied-beyond", Generation: 2})
	for range 2 {
		if _, ok := p.take(); !ok {
			t.Fatal("nothing to take")
		}
	}
	if _, full := p.addStatus(100001, reportedStatus{ref: rolloutRef{UID: "room-again"}, observedAt: t0}); full {
		t.Error("no room after a write was taken")
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestPendingWritesStartAWriterOnlyWhileWritesWait(t *testing.T) {
	starts := 0
	p := newPendingWrites(func() { starts++ })
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	p.addStatus(1, reportedStatus{ref: rolloutRef{UID: "a"}, observedAt: at})
	p.addApplied(rolloutRef{UID: "b", Generation: 2})
	if starts != 1 {
		t.Fatalf("%d writers started for writes added while one runs, want 1", starts)
	}
	for range 2 {
		if _, ok := p.take(); !ok {
			t.Fatal("a write that waits was not taken")
		}
	}
	if _, ok := p.take(); ok {
		t.Fatal("take found a write after all were taken")
	}
	p.addStatus(2, reportedStatus{ref: rolloutRef{UID: "a"}, observedAt: at.Add(time.Second)})
	if starts != 2 {
		t.Fatalf("no new writer once the last one ended (%d started), want a second", starts)
	}
	if _, full := p.addStatus(3, reportedStatus{ref: rolloutRef{UID: "a"}, observedAt: at}); full || starts != 2 {
		t.Fatalf("a status of a Rollout already waiting started writer %d (full %v), want none", starts, full)
	}
}
