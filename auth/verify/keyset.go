package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/time/rate"
)

const (
	// keyRefreshInterval is the least time between two JWKS fetches triggered by tokens: a flood of
	// tokens naming unknown kids causes at most one fetch per interval.
	keyRefreshInterval = 5 * time.Second
	// keySetMaxAge is how long a fetched JWKS is trusted before the next token triggers a refresh,
	// so that keys the issuer withdraws stop verifying.
	keySetMaxAge = 15 * time.Minute
	// keyFetchTimeout bounds one JWKS fetch, whatever the HTTP client's own timeout.
	keyFetchTimeout = 30 * time.Second
)

// errRefreshThrottled says a refresh was skipped because the last one was too recent.
var errRefreshThrottled = errors.New("key set refresh throttled")

// cachedKeySet is the issuer's JWKS, fetched from jwksURL and cached by key id. It refreshes itself
// when a token names an unknown kid or the cache is older than keySetMaxAge, at most once per
// keyRefreshInterval, with concurrent refreshes collapsed into one fetch.
type cachedKeySet struct {
	client  *http.Client
	jwksURL string
	now     func() time.Time
	limiter *rate.Limiter

	mu        sync.Mutex
	keysByID  map[string][]jose.JSONWebKey
	fetchedAt time.Time
	inflight  *keySetFetch
}

// keySetFetch is one JWKS fetch in progress; done is closed once err is set.
type keySetFetch struct {
	done chan struct{}
	err  error
}

// newCachedKeySet returns a cache of the JWKS at jwksURL, fetched once before returning.
func newCachedKeySet(ctx context.Context, client *http.Client, jwksURL string, now func() time.Time) (*cachedKeySet, error) {
	keys := &cachedKeySet{
		client:  client,
		jwksURL: jwksURL,
		now:     now,
		limiter: rate.NewLimiter(rate.Every(keyRefreshInterval), 1),
	}
	fetched, err := fetchKeySet(ctx, client, jwksURL)
	if err != nil {
		return nil, err
	}
	keys.keysByID, keys.fetchedAt = fetched, now()
	return keys, nil
}

// keysFor returns the cached keys with key id kid, refreshing the cache first when kid is unknown
// or the cache is stale. It returns ErrUnknownKey when kid is still unknown, or ErrKeySetUnavailable
// when kid is unknown and the refresh failed. A stale cache whose refresh fails keeps serving.
func (s *cachedKeySet) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	keys, fresh := s.cached(kid)
	if len(keys) > 0 && fresh {
		return keys, nil
	}
	refreshErr := s.refresh(ctx)
	if refreshErr == nil {
		keys, _ = s.cached(kid)
	}
	switch {
	case len(keys) > 0:
		return keys, nil
	case refreshErr != nil && !errors.Is(refreshErr, errRefreshThrottled):
		return nil, refreshErr
	default:
		return nil, ErrUnknownKey
	}
}

// cached returns the keys with key id kid and whether the cache is younger than keySetMaxAge.
func (s *cachedKeySet) cached(kid string) ([]jose.JSONWebKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keysByID[kid], s.now().Sub(s.fetchedAt) < keySetMaxAge
}

// refresh fetches the JWKS again, unless a fetch is already under way (then it waits for that one)
// or the last one started less than keyRefreshInterval ago (then it returns errRefreshThrottled).
func (s *cachedKeySet) refresh(ctx context.Context) error {
	s.mu.Lock()
	fetch := s.inflight
	if fetch == nil {
		if !s.limiter.AllowN(s.now(), 1) {
			s.mu.Unlock()
			return errRefreshThrottled
		}
		fetch = &keySetFetch{done: make(chan struct{})}
		s.inflight = fetch
		// The fetch outlives a caller that gives up: other callers may be waiting for it.
		go s.runFetch(context.WithoutCancel(ctx), fetch)
	}
	s.mu.Unlock()
	select {
	case <-fetch.done:
		return fetch.err
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for refresh: %w", ErrKeySetUnavailable, ctx.Err())
	}
}

// runFetch performs fetch and installs its result.
func (s *cachedKeySet) runFetch(ctx context.Context, fetch *keySetFetch) {
	ctx, cancel := context.WithTimeout(ctx, keyFetchTimeout)
	defer cancel()
	fetched, err := fetchKeySet(ctx, s.client, s.jwksURL)
	s.mu.Lock()
	if err == nil {
		s.keysByID, s.fetchedAt = fetched, s.now()
	}
	fetch.err = err
	s.inflight = nil
	s.mu.Unlock()
	close(fetch.done)
}

// fetchKeySet GETs the JWKS at jwksURL and returns its usable signing keys by key id: public
// asymmetric keys with a kid and use "sig" or no use. Keys of types this library cannot parse are
// skipped rather than failing the whole set; a set with no usable key is an error.
func fetchKeySet(ctx context.Context, client *http.Client, jwksURL string) (map[string][]jose.JSONWebKey, error) {
	body, err := getDocument(ctx, client, jwksURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
	}
	var document struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &document); err != nil {
		return nil, fmt.Errorf("%w: decoding %s: %w", ErrKeySetUnavailable, jwksURL, err)
	}
	keysByID := make(map[string][]jose.JSONWebKey, len(document.Keys))
	for _, raw := range document.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			continue
		}
		if key.KeyID == "" || (key.Use != "" && key.Use != "sig") || !isAsymmetric(key.Key) {
			continue
		}
		if !key.IsPublic() {
			key = key.Public()
		}
		if !key.Valid() {
			continue
		}
		keysByID[key.KeyID] = append(keysByID[key.KeyID], key)
	}
	if len(keysByID) == 0 {
		return nil, fmt.Errorf("%w: %s holds no usable signing key", ErrKeySetUnavailable, jwksURL)
	}
	return keysByID, nil
}

// isAsymmetric reports whether key is a public or private key of an asymmetric algorithm; HMAC
// secrets ([]byte) and anything else are refused.
func isAsymmetric(key any) bool {
	switch key.(type) {
	case *ecdsa.PublicKey, *ecdsa.PrivateKey, *rsa.PublicKey, *rsa.PrivateKey,
		ed25519.PublicKey, ed25519.PrivateKey:
		return true
	default:
		return false
	}
}
