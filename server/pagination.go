package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// Page sizes of list routes.
const (
	// DefaultPageSize is the page size when limit is not given.
	DefaultPageSize = 50
	// MaxPageSize is the largest limit accepted.
	MaxPageSize = 500
)

// listPage is the answer of a list route.
type listPage[T any] struct {
	Items    []T    `json:"items"`
	Continue string `json:"continue"`
}

// pageRequest is a list route's limit and continue token.
type pageRequest struct {
	limit int
	after pageKey
}

// pageKey is the position of the last item of a page: its sort key and name.
type pageKey struct {
	Key  int64  `json:"k"`
	Name string `json:"n"`
}

// parsePage reads limit and continue from the query.
func parsePage(r *http.Request) (pageRequest, error) {
	pr := pageRequest{limit: DefaultPageSize}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return pr, invalidField("limit", "expected a whole number from 1 to %d, got %q", MaxPageSize, v)
		}
		pr.limit = n
	}
	if v := q.Get("continue"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(raw, &pr.after) != nil || pr.after.Name == "" {
			return pr, invalidField("continue", "expected the continue token of the previous page")
		}
	}
	return pr, nil
}

// paginate returns the page of items (sorted by keyOf descending, then by name) that follows
// pr.after, and the continue token of the next page ("" on the last page).
func paginate[T any](items []T, keyOf func(T) pageKey, pr pageRequest) ([]T, string) {
	start := 0
	if pr.after.Name != "" {
		start = len(items)
		for i, it := range items {
			if before(pr.after, keyOf(it)) {
				start = i
				break
			}
		}
	}
	end := min(start+pr.limit, len(items))
	page := items[start:end]
	if end >= len(items) {
		return page, ""
	}
	raw, _ := json.Marshal(keyOf(items[end-1]))
	return page, base64.RawURLEncoding.EncodeToString(raw)
}

// before reports whether a sorts before b: newer (greater key) first, then by name.
func before(a, b pageKey) bool {
	if a.Key != b.Key {
		return a.Key > b.Key
	}
	return a.Name < b.Name
}
