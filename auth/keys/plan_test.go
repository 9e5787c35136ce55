package keys

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The planner alone, on hand-made records: states the API-level specs cannot easily reach.
var _ = Describe("planner", func() {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := t0.Add(d); return &t }
	opts := Options{RotationPeriod: 24 * time.Hour, TokenLifetime: time.Hour, ReloadInterval: time.Minute, Leeway: 5 * time.Minute}
	newPlanner := func() planner {
		n := 0
		return planner{opts: opts, newKey: func(now time.Time) (keyRecord, error) {
			n++
			return keyRecord{KeyID: fmt.Sprintf("new%d", n), Algorithm: "ES256", CreatedAt: now}, nil
		}}
	}
	// summary lists records as "kid:state".
	summary := func(records []keyRecord) []string {
		var out []string
		for _, r := range records {
			out = append(out, r.KeyID+":"+[]string{"next", "current", "retired"}[r.state()])
		}
		return out
	}

	DescribeTable("scheduled",
		func(records []keyRecord, now time.Duration, want []string, wantChanges int) {
			got, changes, err := newPlanner().scheduled(records, t0.Add(now))
			Expect(err).NotTo(HaveOccurred())
			Expect(summary(got)).To(ConsistOf(want))
			Expect(changes).To(HaveLen(wantChanges))
			Expect(currentKeyID(got)).NotTo(BeEmpty())
		},
		Entry("no keys: a new current key", nil, time.Duration(0), []string{"new1:current"}, 2),
		Entry("a fresh current key: nothing to do",
			[]keyRecord{{KeyID: "a", CreatedAt: t0, ActivatedAt: at(0)}}, time.Hour, []string{"a:current"}, 0),
		Entry("two current keys: the older activation retires",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(0)}, {KeyID: "b", ActivatedAt: at(time.Minute)}}, time.Hour,
			[]string{"a:retired", "b:current"}, 1),
		Entry("no current key but a next key: it activates",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(0), RetiredAt: at(time.Hour)}, {KeyID: "b", CreatedAt: t0}}, 2*time.Hour,
			[]string{"a:retired", "b:current"}, 1),
		Entry("two next keys: the longer published one stays",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(0)}, {KeyID: "b", CreatedAt: *at(time.Hour)}, {KeyID: "c", CreatedAt: *at(2 * time.Hour)}}, 3*time.Hour,
			[]string{"a:current", "b:next"}, 1),
		Entry("a retired key within its retention stays",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(0), RetiredAt: at(time.Hour)}, {KeyID: "b", ActivatedAt: at(time.Hour)}}, time.Hour+66*time.Minute-time.Nanosecond,
			[]string{"a:retired", "b:current"}, 0),
		Entry("a retired key past its retention goes",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(0), RetiredAt: at(time.Hour)}, {KeyID: "b", ActivatedAt: at(time.Hour)}}, time.Hour+66*time.Minute,
			[]string{"b:current"}, 1),
		Entry("the clock went back: nothing to do",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(time.Hour)}}, time.Duration(0), []string{"a:current"}, 0),
	)

	DescribeTable("rotated",
		func(records []keyRecord, want []string) {
			got, _, err := newPlanner().rotated(records, t0.Add(time.Hour))
			Expect(err).NotTo(HaveOccurred())
			Expect(summary(got)).To(ConsistOf(want))
		},
		Entry("no keys", nil, []string{"new1:current"}),
		Entry("a current key: a new key takes over", []keyRecord{{KeyID: "a", ActivatedAt: at(0)}},
			[]string{"a:retired", "new1:current"}),
		Entry("a current and a next key: the next key takes over",
			[]keyRecord{{KeyID: "a", ActivatedAt: at(0)}, {KeyID: "b", CreatedAt: *at(30 * time.Minute)}},
			[]string{"a:retired", "b:current"}),
	)
})
