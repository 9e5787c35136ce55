package keys

import (
	"cmp"
	"slices"
	"time"
)

// keyChange is one change a plan made, for the log.
type keyChange struct {
	action string // "created", "activated", "retired" or "removed"
	kid    string
}

// planner decides how the key records change over time. Its methods are pure but for newKey.
type planner struct {
	opts Options
	// newKey returns the record of a freshly generated key created at now, neither activated nor retired.
	newKey func(now time.Time) (keyRecord, error)
}

// scheduled returns records brought up to date at now, and what changed:
//   - retired keys whose retention has ended are removed;
//   - exactly one key is current: extra current keys are retired, and without a current key the next
//     key (or else a new key) is activated;
//   - a next key is created once the current key is within publishAhead of the end of its rotation
//     period, and activated (retiring the current key) once the period has ended and the next key has
//     been published for publishAhead;
//   - of several next keys, the longest published one stays.
func (p planner) scheduled(records []keyRecord, now time.Time) ([]keyRecord, []keyChange, error) {
	records = slices.Clone(records)
	var changes []keyChange

	records = slices.DeleteFunc(records, func(r keyRecord) bool {
		if r.state() == stateRetired && !now.Before(r.RetiredAt.Add(p.opts.retention())) {
			changes = append(changes, keyChange{"removed", r.KeyID})
			return true
		}
		return false
	})

	currents := indexesInState(records, stateCurrent)
	slices.SortFunc(currents, func(a, b int) int { // newest activation first
		return cmp.Or(records[b].ActivatedAt.Compare(*records[a].ActivatedAt), cmp.Compare(records[a].KeyID, records[b].KeyID))
	})
	for _, i := range currents[min(1, len(currents)):] {
		records[i].RetiredAt = &now
		changes = append(changes, keyChange{"retired", records[i].KeyID})
	}

	nexts := indexesInState(records, stateNext)
	slices.SortFunc(nexts, func(a, b int) int { // oldest first
		return cmp.Or(records[a].CreatedAt.Compare(records[b].CreatedAt), cmp.Compare(records[a].KeyID, records[b].KeyID))
	})
	drop := make(map[string]bool)
	for _, i := range nexts[min(1, len(nexts)):] { // they never signed: no token needs them
		drop[records[i].KeyID] = true
		changes = append(changes, keyChange{"removed", records[i].KeyID})
	}
	records = slices.DeleteFunc(records, func(r keyRecord) bool { return drop[r.KeyID] })

	current, next := indexInState(records, stateCurrent), indexInState(records, stateNext)
	if current < 0 {
		if next < 0 {
			var err error
			if records, changes, err = p.withNewKey(records, changes, now); err != nil {
				return nil, nil, err
			}
			next = len(records) - 1
		}
		records[next].ActivatedAt = &now
		changes = append(changes, keyChange{"activated", records[next].KeyID})
		return records, changes, nil
	}

	age := now.Sub(*records[current].ActivatedAt)
	if next < 0 && age >= p.opts.RotationPeriod-p.opts.publishAhead() {
		var err error
		if records, changes, err = p.withNewKey(records, changes, now); err != nil {
			return nil, nil, err
		}
		next = len(records) - 1
	}
	if next >= 0 && age >= p.opts.RotationPeriod && now.Sub(records[next].CreatedAt) >= p.opts.publishAhead() {
		records[current].RetiredAt = &now
		records[next].ActivatedAt = &now
		changes = append(changes, keyChange{"retired", records[current].KeyID}, keyChange{"activated", records[next].KeyID})
	}
	return records, changes, nil
}

// rotated returns records after an immediate rotation at now: the current key retires and the next
// key, or else a new key, becomes current; then the schedule applies (removing expired keys).
func (p planner) rotated(records []keyRecord, now time.Time) ([]keyRecord, []keyChange, error) {
	records = slices.Clone(records)
	var changes []keyChange
	for _, i := range indexesInState(records, stateCurrent) {
		records[i].RetiredAt = &now
		changes = append(changes, keyChange{"retired", records[i].KeyID})
	}
	if indexInState(records, stateNext) < 0 {
		var err error
		if records, changes, err = p.withNewKey(records, changes, now); err != nil {
			return nil, nil, err
		}
	}
	// No key is current now: the schedule activates the next key.
	records, scheduled, err := p.scheduled(records, now)
	if err != nil {
		return nil, nil, err
	}
	return records, append(changes, scheduled...), nil
}

// withNewKey returns records with a freshly generated next key appended, and changes with its creation.
func (p planner) withNewKey(records []keyRecord, changes []keyChange, now time.Time) ([]keyRecord, []keyChange, error) {
	record, err := p.newKey(now)
	if err != nil {
		return nil, nil, err
	}
	return append(records, record), append(changes, keyChange{"created", record.KeyID}), nil
}

// currentKeyID returns the kid of the newest current record, or "" when none is current.
func currentKeyID(records []keyRecord) string {
	var current *keyRecord
	for i, r := range records {
		if r.state() != stateCurrent {
			continue
		}
		if current == nil || r.ActivatedAt.After(*current.ActivatedAt) ||
			r.ActivatedAt.Equal(*current.ActivatedAt) && r.KeyID < current.KeyID {
			current = &records[i]
		}
	}
	if current == nil {
		return ""
	}
	return current.KeyID
}

// indexesInState returns the indexes of the records in state.
func indexesInState(records []keyRecord, state keyState) []int {
	var indexes []int
	for i, r := range records {
		if r.state() == state {
			indexes = append(indexes, i)
		}
	}
	return indexes
}

// indexInState returns the index of the first record in state, or -1.
func indexInState(records []keyRecord, state keyState) int {
	return slices.IndexFunc(records, func(r keyRecord) bool { return r.state() == state })
}
