package tenantsecrets

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// UpdatedAtAnnotation of the store Secret records when each key was last set: a JSON object of key to
// RFC 3339 time. Names and times are not secret.
const UpdatedAtAnnotation = "secrets.aurora.dev/updated-at"

// Entry is one secret of a tenant as it may be shown: its name and last update, never its value.
type Entry struct {
	// Name is the key, used in templates as {{secrets.<name>}}.
	Name string
	// UpdatedAt is when the value was last set; zero when unknown (written without the API).
	UpdatedAt time.Time
}

// parseUpdates reads the UpdatedAtAnnotation; a damaged annotation reads as no times.
func parseUpdates(annotation string) map[string]string {
	updates := map[string]string{}
	if annotation != "" {
		if err := json.Unmarshal([]byte(annotation), &updates); err != nil {
			return map[string]string{}
		}
	}
	return updates
}

// withUpdate returns the annotation with key set at now (or removed when now is zero), keeping only
// keys still in data.
func withUpdate(annotation, key string, now time.Time, data map[string][]byte) string {
	updates := parseUpdates(annotation)
	if now.IsZero() {
		delete(updates, key)
	} else {
		updates[key] = now.UTC().Format(time.RFC3339)
	}
	maps.DeleteFunc(updates, func(k, _ string) bool { _, ok := data[k]; return !ok })
	out, _ := json.Marshal(updates) // a map of strings always marshals; keys come out sorted
	return string(out)
}

// Entries lists the keys of data, sorted, with their update times from annotation.
func Entries(data map[string][]byte, annotation string) []Entry {
	updates := parseUpdates(annotation)
	entries := make([]Entry, 0, len(data))
	for _, key := range slices.Sorted(maps.Keys(data)) {
		e := Entry{Name: key}
		if t, err := time.Parse(time.RFC3339, updates[key]); err == nil {
			e.UpdatedAt = t
		}
		entries = append(entries, e)
	}
	return entries
}
