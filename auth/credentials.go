package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/internal/clientsecret"
)

// Client is an authenticated machine client.
type Client struct {
	// ClientID is the credential's client id.
	ClientID string
	// Name and Namespace locate the MachineCredential.
	Name, Namespace string
	// Organization and Environment are the tenant the credential belongs to.
	Organization, Environment string
	// Scopes and Roles are what the credential holds.
	Scopes, Roles []string
	// Agents are the agent identifiers the credential may connect as; empty means any.
	Agents []string
	// ExpiresAt is when the credential expires, if it does.
	ExpiresAt *time.Time
}

// clientIDIndex indexes MachineCredentials by status.clientID.
const clientIDIndex = "status.clientID"

// MachineCredentials authenticates clients against the MachineCredentials of the cloud cluster.
// It finds a credential through an informer cache indexed by client id, then reads it again from the
// API server, so that a deleted or changed credential stops issuing tokens at once.
type MachineCredentials struct {
	cache  cache.Cache
	reader client.Reader
	now    func() time.Time
}

// NewMachineCredentials indexes MachineCredentials by client id in c; reader reads past the cache
// (a manager's APIReader, or a plain client).
func NewMachineCredentials(ctx context.Context, c cache.Cache, reader client.Reader, now func() time.Time) (*MachineCredentials, error) {
	err := c.IndexField(ctx, &iamv1alpha1.MachineCredential{}, clientIDIndex, func(o client.Object) []string {
		if id := o.(*iamv1alpha1.MachineCredential).Status.ClientID; id != "" {
			return []string{id}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing MachineCredentials by client id: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &MachineCredentials{cache: c, reader: reader, now: now}, nil
}

// Authenticate checks the client id and secret. Every refusal is ErrInvalidClient, so that a caller
// cannot tell an unknown client from a wrong secret or an expired credential.
func (m *MachineCredentials) Authenticate(ctx context.Context, clientID, secret string) (*Client, error) {
	if clientID == "" || secret == "" {
		return nil, ErrInvalidClient
	}
	list, err := m.lookUp(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if len(list.Items) != 1 {
		return nil, ErrInvalidClient // unknown, or (never by construction) ambiguous
	}
	// Read the credential again past the cache: deleted, rotated or expired counts at once.
	mc := &iamv1alpha1.MachineCredential{}
	if err := m.reader.Get(ctx, client.ObjectKeyFromObject(&list.Items[0]), mc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, ErrInvalidClient
		}
		return nil, fmt.Errorf("reading the credential of client %s: %w", clientID, err)
	}
	now := m.now()
	if mc.Status.ClientID != clientID || !mc.DeletionTimestamp.IsZero() {
		return nil, ErrInvalidClient
	}
	if mc.Spec.ExpiresAt != nil && !mc.Spec.ExpiresAt.After(now) {
		return nil, ErrInvalidClient
	}
	if !secretMatches(mc.Status.SecretHashes, secret, now) {
		return nil, ErrInvalidClient
	}
	ns := &corev1.Namespace{}
	if err := m.reader.Get(ctx, types.NamespacedName{Name: mc.Namespace}, ns); err != nil {
		return nil, fmt.Errorf("reading the tenant namespace of client %s: %w", clientID, err)
	}
	org, env := ns.Labels[iamv1alpha1.OrganizationLabel], ns.Labels[iamv1alpha1.EnvironmentLabel]
	if org == "" || env == "" || iamv1alpha1.NamespaceName(org, env) != ns.Name {
		// A credential outside a tenant namespace belongs to no tenant and gets no token.
		return nil, errors.Join(ErrInvalidClient, fmt.Errorf("namespace %s is not a tenant namespace", ns.Name))
	}
	c := &Client{ClientID: clientID, Name: mc.Name, Namespace: mc.Namespace, Organization: org, Environment: env, Roles: mc.Spec.Roles, Agents: mc.Spec.AgentIdentifiers}
	for _, s := range mc.Spec.Scopes {
		c.Scopes = append(c.Scopes, string(s))
	}
	if mc.Spec.ExpiresAt != nil {
		t := mc.Spec.ExpiresAt.Time
		c.ExpiresAt = &t
	}
	return c, nil
}

// cacheLagWait is how long a client id the cache does not know is looked for again: a credential
// created a moment ago reaches the auth service's cache through a watch, and a CI job that creates a
// credential and asks for a token at once must not be refused. An unknown client is refused after
// it, which also slows down guessing.
const cacheLagWait = 2 * time.Second

// lookUp finds the credentials of clientID in the cache, looking again for up to cacheLagWait while
// it finds none.
func (m *MachineCredentials) lookUp(ctx context.Context, clientID string) (*iamv1alpha1.MachineCredentialList, error) {
	list := &iamv1alpha1.MachineCredentialList{}
	deadline := time.NewTimer(cacheLagWait)
	defer deadline.Stop()
	retry := time.NewTicker(cacheLagWait / 20)
	defer retry.Stop()
	for {
		if err := m.cache.List(ctx, list, client.MatchingFields{clientIDIndex: clientID}); err != nil {
			return nil, fmt.Errorf("looking up client %s: %w", clientID, err)
		}
		if len(list.Items) > 0 {
			return list, nil
		}
		select {
		case <-retry.C:
		case <-deadline.C:
			return list, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("looking up client %s: %w", clientID, ctx.Err())
		}
	}
}

// secretMatches reports whether secret matches the current hash or a rotated-out one still in its
// grace period.
func secretMatches(hashes []iamv1alpha1.SecretHash, secret string, now time.Time) bool {
	for _, h := range hashes {
		if h.ValidUntil != nil && !h.ValidUntil.After(now) {
			continue
		}
		if clientsecret.Verify(h.Hash, secret) {
			return true
		}
	}
	return false
}
