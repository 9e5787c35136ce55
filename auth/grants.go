package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// grantKind is what a stored grant is.
type grantKind string

// The grants kept between requests. Each is a Secret of the auth service's namespace, named after the
// SHA-256 of its token (the token itself is stored nowhere), so that every replica sees it.
const (
	grantDevice  grantKind = "device"  // a device code waiting for its person (RFC 8628)
	grantCode    grantKind = "code"    // an authorization code, single use
	grantRefresh grantKind = "refresh" // a refresh token, rotated on use
)

// Labels and keys of grant Secrets.
const (
	grantKindLabel = "auth.aurora.dev/grant"
	userCodeLabel  = "auth.aurora.dev/user-code"
	grantUserLabel = "auth.aurora.dev/user" // on refresh tokens: kubectl delete secret -l names a user's
	// grantFamilyLabel is on refresh tokens: the login they were rotated from.
	grantFamilyLabel = "auth.aurora.dev/family"
	grantDataKey     = "grant"
	expiresAtKey     = "expiresAt"
)

// ErrGrantNotFound means a token names no live grant: unknown, used, revoked or expired.
var ErrGrantNotFound = errors.New("no such grant")

// GrantStore keeps device codes, authorization codes and refresh tokens in Secrets of one namespace,
// hashed. It reads past any cache: a grant one replica writes, another reads at once.
type GrantStore struct {
	c         client.Client
	namespace string
	now       func() time.Time
}

// NewGrantStore returns a store of grants in namespace.
func NewGrantStore(c client.Client, namespace string, now func() time.Time) *GrantStore {
	if now == nil {
		now = time.Now
	}
	return &GrantStore{c: c, namespace: namespace, now: now}
}

// tokenHash is the hex SHA-256 of a token, cut to fit a name or a label value. Tokens carry 256
// random bits, so one hash round is enough.
func tokenHash(token string, n int) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:n]
}

func grantSecretName(kind grantKind, token string) string {
	return "aurora-" + string(kind) + "-" + tokenHash(token, 48)
}

// put stores rec as the grant of token until expires.
func (g *GrantStore) put(ctx context.Context, kind grantKind, token string, labels map[string]string, rec any, expires time.Time) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the %s grant: %w", kind, err)
	}
	l := map[string]string{grantKindLabel: string(kind), "app.kubernetes.io/managed-by": "aurora-auth"}
	for k, v := range labels {
		l[k] = v
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: g.namespace, Name: grantSecretName(kind, token), Labels: l},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{grantDataKey: data, expiresAtKey: []byte(expires.UTC().Format(time.RFC3339))}}
	if err := g.c.Create(ctx, s); err != nil {
		return fmt.Errorf("storing the %s grant: %w", kind, err)
	}
	return nil
}

// get reads the grant of token into rec. An expired grant is ErrGrantNotFound wrapped with
// errGrantExpired.
func (g *GrantStore) get(ctx context.Context, kind grantKind, token string, rec any) (*corev1.Secret, error) {
	if token == "" {
		return nil, ErrGrantNotFound
	}
	s := &corev1.Secret{}
	if err := g.c.Get(ctx, types.NamespacedName{Namespace: g.namespace, Name: grantSecretName(kind, token)}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, ErrGrantNotFound
		}
		return nil, fmt.Errorf("reading a %s grant: %w", kind, err)
	}
	return s, g.decode(s, rec)
}

// errGrantExpired marks a grant that exists but has expired.
var errGrantExpired = fmt.Errorf("%w: expired", ErrGrantNotFound)

func (g *GrantStore) decode(s *corev1.Secret, rec any) error {
	if s.Labels[grantKindLabel] == "" || !s.DeletionTimestamp.IsZero() {
		return ErrGrantNotFound
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data[expiresAtKey]))
	if err != nil {
		return ErrGrantNotFound
	}
	if !g.now().Before(exp) {
		return errGrantExpired
	}
	if err := json.Unmarshal(s.Data[grantDataKey], rec); err != nil {
		return fmt.Errorf("decoding grant %s: %w", s.Name, err)
	}
	return nil
}

// update rewrites the grant s with rec; a concurrent change fails with a Conflict.
func (g *GrantStore) update(ctx context.Context, s *corev1.Secret, rec any) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding grant %s: %w", s.Name, err)
	}
	s.Data[grantDataKey] = data
	return g.c.Update(ctx, s)
}

// markSpent rewrites the grant s with rec and a new expiry, if nobody changed or removed it since
// it was read: of two replicas spending one refresh token at once, exactly one succeeds. Anything
// else is ErrGrantNotFound.
func (g *GrantStore) markSpent(ctx context.Context, s *corev1.Secret, rec any, expires time.Time) error {
	s.Data[expiresAtKey] = []byte(expires.UTC().Format(time.RFC3339))
	return lostRace(g.update(ctx, s, rec), "spending", s.Name)
}

// lostRace maps what a write conditioned on the grant's resourceVersion returned: NotFound or
// Conflict (another replica got there first) is ErrGrantNotFound, other errors are wrapped.
func lostRace(err error, doing, name string) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return ErrGrantNotFound
	default:
		return fmt.Errorf("%s grant %s: %w", doing, name, err)
	}
}

// removeFamily deletes every refresh token of a login and returns how many there were.
func (g *GrantStore) removeFamily(ctx context.Context, family string) (int, error) {
	list := &corev1.SecretList{}
	if err := g.c.List(ctx, list, client.InNamespace(g.namespace),
		client.MatchingLabels{grantKindLabel: string(grantRefresh), grantFamilyLabel: family}); err != nil {
		return 0, fmt.Errorf("listing the refresh tokens of a login: %w", err)
	}
	for i := range list.Items {
		if err := g.c.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return i, fmt.Errorf("revoking a refresh token of a login: %w", err)
		}
	}
	return len(list.Items), nil
}

// remove deletes the grant s if nobody changed or removed it since it was read: of two replicas
// using one code or refresh token at once, exactly one succeeds. Anything else is ErrGrantNotFound.
func (g *GrantStore) remove(ctx context.Context, s *corev1.Secret) error {
	return lostRace(g.c.Delete(ctx, s, client.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}), "removing", s.Name)
}

// consume reads and removes the grant of token: single use.
func (g *GrantStore) consume(ctx context.Context, kind grantKind, token string, rec any) error {
	s, err := g.get(ctx, kind, token, rec)
	if err != nil {
		if s != nil && errors.Is(err, errGrantExpired) {
			_ = g.remove(ctx, s)
		}
		return err
	}
	return g.remove(ctx, s)
}

// findByUserCode finds the device grant whose user code is userCode (normalized).
func (g *GrantStore) findByUserCode(ctx context.Context, userCode string, rec any) (*corev1.Secret, error) {
	list := &corev1.SecretList{}
	if err := g.c.List(ctx, list, client.InNamespace(g.namespace),
		client.MatchingLabels{grantKindLabel: string(grantDevice), userCodeLabel: tokenHash(userCode, 48)}); err != nil {
		return nil, fmt.Errorf("looking up a user code: %w", err)
	}
	if len(list.Items) != 1 {
		return nil, ErrGrantNotFound
	}
	s := &list.Items[0]
	return s, g.decode(s, rec)
}

// userLabelValue is a label value naming a user: the name if it fits, else its hash.
func userLabelValue(name string) string {
	if len(name) <= 63 && isLabelValue(name) {
		return name
	}
	return tokenHash(name, 48)
}

func isLabelValue(s string) bool {
	for i, c := range s {
		alnum := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || i == len(s)-1 || (c != '-' && c != '_' && c != '.')) {
			return false
		}
	}
	return s != ""
}

// DeleteExpired removes the grants that have expired and returns how many.
func (g *GrantStore) DeleteExpired(ctx context.Context) (int, error) {
	list := &corev1.SecretList{}
	if err := g.c.List(ctx, list, client.InNamespace(g.namespace), client.HasLabels{grantKindLabel}); err != nil {
		return 0, fmt.Errorf("listing grants: %w", err)
	}
	n := 0
	for i := range list.Items {
		s := &list.Items[i]
		var discard json.RawMessage
		if err := g.decode(s, &discard); errors.Is(err, errGrantExpired) {
			if g.remove(ctx, s) == nil {
				n++
			}
		}
	}
	return n, nil
}
