package verify

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

func TestKeyRotationPickedUpAfterOneRefresh(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	oldToken := issuer.sign(t, issuer.claims(iamv1alpha1.ScopeAgentHubFull))
	if hits := issuer.jwksHits.Load(); hits != 1 {
		t.Fatalf("JWKS fetched %d times at construction, want 1", hits)
	}

	issuer.rotate(t, "key-2")
	newToken := issuer.sign(t, issuer.claims(iamv1alpha1.ScopeAgentHubFull))
	for range 3 {
		if _, err := verifier.Verify(t.Context(), newToken); err != nil {
			t.Fatalf("token signed with the rotated-in key: %v", err)
		}
	}
	if hits := issuer.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times after rotation, want 2 (one refresh)", hits)
	}
	if _, err := verifier.Verify(t.Context(), oldToken); err != nil {
		t.Errorf("token signed with the old, still published key: %v", err)
	}
}

func TestRetiredKeyDroppedOnceCacheIsStale(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	oldKey := issuer.currentKey()
	issuer.rotate(t, "key-2")
	issuer.retire(oldKey.kid)
	issuer.clock.Advance(keySetMaxAge - keyRefreshInterval)
	// The token is issued now, by the advanced clock: only its key is old.
	oldToken := signES(t, jose.ES256, oldKey.private, oldKey.kid, issuer.claims())
	if _, err := verifier.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("retired key while the cache is fresh: %v (the cache should still serve it)", err)
	}
	issuer.clock.Advance(2 * keyRefreshInterval)
	if _, err := verifier.Verify(t.Context(), oldToken); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("retired key once the cache is stale: error %v, want ErrUnknownKey", err)
	}
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, issuer.claims())); err != nil {
		t.Errorf("current key after the refresh: %v", err)
	}
}

func TestRandomKIDFloodIsRateLimited(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	key := issuer.currentKey()
	const flood = 200
	tokens := make([]string, flood)
	for n := range tokens {
		tokens[n] = signES(t, jose.ES256, key.private, randomKID(t), issuer.claims())
	}

	var wg sync.WaitGroup
	errs := make([]error, flood)
	for n, token := range tokens {
		wg.Go(func() { _, errs[n] = verifier.Verify(t.Context(), token) })
	}
	wg.Wait()
	for n, err := range errs {
		if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("token %d with a random kid: error %v, want ErrUnknownKey", n, err)
		}
	}
	if hits := issuer.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times for a flood of %d random kids, want 2 (construction + one refresh)", hits, flood)
	}

	issuer.clock.Advance(keyRefreshInterval / 2)
	for _, token := range tokens[:20] {
		_, _ = verifier.Verify(t.Context(), token)
	}
	if hits := issuer.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times within the refresh interval, want still 2", hits)
	}

	issuer.clock.Advance(keyRefreshInterval)
	for _, token := range tokens[:20] {
		_, _ = verifier.Verify(t.Context(), token)
	}
	if hits := issuer.jwksHits.Load(); hits != 3 {
		t.Errorf("JWKS fetched %d times after the refresh interval passed, want 3", hits)
	}
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, issuer.claims())); err != nil {
		t.Errorf("a valid token after the flood: %v", err)
	}
}

func TestIssuerOutage(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	issuer.setJWKSStatus(http.StatusServiceUnavailable)

	unknown := signES(t, jose.ES256, issuer.currentKey().private, randomKID(t), issuer.claims())
	_, err := verifier.Verify(t.Context(), unknown)
	if !errors.Is(err, ErrKeySetUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown kid while the JWKS is down: error %v, want ErrKeySetUnavailable and not ErrInvalidToken", err)
	}

	issuer.clock.Advance(keySetMaxAge + keyRefreshInterval)
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, issuer.claims())); err != nil {
		t.Errorf("cached key while the JWKS is down and the cache stale: %v (stale keys must keep serving)", err)
	}

	issuer.setJWKSStatus(http.StatusOK)
	issuer.clock.Advance(keyRefreshInterval)
	issuer.rotate(t, "key-2")
	if _, err := verifier.Verify(t.Context(), issuer.sign(t, issuer.claims())); err != nil {
		t.Errorf("rotated key after the JWKS recovered: %v", err)
	}
}
