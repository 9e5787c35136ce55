package auth

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// laggingCache is a cache whose index learns of a credential only after misses lookups, as an
// informer does a moment after the credential was made.
type laggingCache struct {
	cache.Cache
	misses, calls int
	known         iamv1alpha1.MachineCredential
}

func (c *laggingCache) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	c.calls++
	if c.calls > c.misses {
		list.(*iamv1alpha1.MachineCredentialList).Items = []iamv1alpha1.MachineCredential{c.known}
	}
	return nil
}

func TestLookUpWaitsForTheCacheToLearnOfANewCredential(t *testing.T) {
	known := iamv1alpha1.MachineCredential{}
	known.Name = "ci"
	for _, tc := range []struct {
		name      string
		misses    int
		wantFound bool
	}{
		{name: "known at once", misses: 0, wantFound: true},
		{name: "known after a few lookups", misses: 3, wantFound: true},
		{name: "never known: refused after the wait", misses: 1 << 30, wantFound: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &laggingCache{misses: tc.misses, known: known}
			m := &MachineCredentials{cache: c}
			started := time.Now()
			list, err := m.lookUp(context.Background(), "client-id")
			if err != nil {
				t.Fatalf("lookUp: %v", err)
			}
			if found := len(list.Items) == 1; found != tc.wantFound {
				t.Fatalf("found %v after %d lookups, want %v", found, c.calls, tc.wantFound)
			}
			if !tc.wantFound && time.Since(started) < cacheLagWait {
				t.Errorf("an unknown client was refused after %s, before the %s wait", time.Since(started), cacheLagWait)
			}
			if tc.wantFound && c.calls != tc.misses+1 {
				t.Errorf("%d lookups, want %d", c.calls, tc.misses+1)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&MachineCredentials{cache: &laggingCache{misses: 1 << 30}}).lookUp(ctx, "client-id"); err == nil {
		t.Error("a lookup whose request ended returned no error")
	}
}
