package keys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/auth/keys"
	"github.com/aurora-cd/aurora/internal/envelope"
)

// The timings of the test managers: a retired key stays published for
// reloadInterval + tokenLifetime + leeway, a next key is published for reloadInterval + leeway first.
const (
	namespace      = "default"
	rotationPeriod = 24 * time.Hour
	tokenLifetime  = time.Hour
	reloadInterval = time.Minute
	leeway         = 5 * time.Minute
	retention      = reloadInterval + tokenLifetime + leeway
	publishAhead   = reloadInterval + leeway
)

// fakeClock is a clock tests move by hand; managers that share one agree on the time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var secretCounter atomic.Int64

// newSecretName returns a Secret name no other spec uses.
func newSecretName() string {
	return fmt.Sprintf("signing-keys-%d", secretCounter.Add(1))
}

// newMasterKey returns a fresh master key.
func newMasterKey() []byte {
	key, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	return key
}

// testOptions returns the options of a test manager of Secret name.
func testOptions(name string, masterKey []byte, clock *fakeClock) keys.Options {
	return keys.Options{
		Client:         cluster.Client,
		Namespace:      namespace,
		SecretName:     name,
		MasterKey:      masterKey,
		RotationPeriod: rotationPeriod,
		TokenLifetime:  tokenLifetime,
		ReloadInterval: reloadInterval,
		Leeway:         leeway,
		Now:            clock.Now,
	}
}

// newManager returns a manager of Secret name, not loaded yet.
func newManager(name string, masterKey []byte, clock *fakeClock) *keys.Manager {
	m, err := keys.NewManager(testOptions(name, masterKey, clock))
	Expect(err).NotTo(HaveOccurred())
	return m
}

// loadedManager returns a manager of Secret name after a successful Load.
func loadedManager(ctx context.Context, name string, masterKey []byte, clock *fakeClock) *keys.Manager {
	m := newManager(name, masterKey, clock)
	Expect(m.Load(ctx)).To(Succeed())
	return m
}

// storedKeys mirrors the documented layout of keys.json.
type storedKeys struct {
	Version int         `json:"version"`
	Keys    []storedKey `json:"keys"`
}

type storedKey struct {
	Kid              string     `json:"kid"`
	Alg              string     `json:"alg"`
	CreatedAt        time.Time  `json:"createdAt"`
	ActivatedAt      *time.Time `json:"activatedAt"`
	RetiredAt        *time.Time `json:"retiredAt"`
	SealedPrivateKey []byte     `json:"sealedPrivateKey"`
}

// currentKids returns the kids of the keys that are activated and not retired.
func (s storedKeys) currentKids() []string {
	var kids []string
	for _, key := range s.Keys {
		if key.ActivatedAt != nil && key.RetiredAt == nil {
			kids = append(kids, key.Kid)
		}
	}
	return kids
}

// kids returns the kids of all stored keys.
func (s storedKeys) kids() []string {
	var kids []string
	for _, key := range s.Keys {
		kids = append(kids, key.Kid)
	}
	return kids
}

// getSecret returns the Secret name.
func getSecret(ctx context.Context, name string) *corev1.Secret {
	secret := &corev1.Secret{}
	Expect(cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret)).To(Succeed())
	return secret
}

// decodeStoredKeys parses a Secret's keys.json.
func decodeStoredKeys(secret *corev1.Secret) storedKeys {
	GinkgoHelper()
	var stored storedKeys
	Expect(secret.Data).To(HaveKey(keys.SecretDataKey))
	Expect(json.Unmarshal(secret.Data[keys.SecretDataKey], &stored)).To(Succeed())
	Expect(stored.Version).To(Equal(1))
	return stored
}

// readStoredKeys reads and parses the keys.json of Secret name.
func readStoredKeys(ctx context.Context, name string) storedKeys {
	GinkgoHelper()
	return decodeStoredKeys(getSecret(ctx, name))
}

// writeKeysJSON replaces the keys.json of Secret name.
func writeKeysJSON(ctx context.Context, name string, data []byte) {
	GinkgoHelper()
	secret := getSecret(ctx, name)
	secret.Data[keys.SecretDataKey] = data
	Expect(cluster.Client.Update(ctx, secret)).To(Succeed())
}

// testClaims are the claims the specs sign.
func testClaims(subject string, clock *fakeClock) jwt.Claims {
	return jwt.Claims{
		Issuer:   "https://auth.aurora.test",
		Subject:  subject,
		Audience: jwt.Audience{"aurora"},
		IssuedAt: jwt.NewNumericDate(clock.Now()),
		Expiry:   jwt.NewNumericDate(clock.Now().Add(tokenLifetime)),
	}
}

// sign signs claims for subject with m.
func sign(m *keys.Manager, subject string, clock *fakeClock) string {
	GinkgoHelper()
	token, err := m.Sign(testClaims(subject, clock))
	Expect(err).NotTo(HaveOccurred())
	return token
}

// verify checks token's headers and signature against jwks and returns its kid and claims.
func verify(token string, jwks jose.JSONWebKeySet) (string, jwt.Claims, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", jwt.Claims{}, fmt.Errorf("parse: %w", err)
	}
	header := parsed.Headers[0]
	if header.Algorithm != string(jose.ES256) || header.ExtraHeaders[jose.HeaderType] != "JWT" || header.KeyID == "" {
		return "", jwt.Claims{}, fmt.Errorf("headers alg=%s typ=%v kid=%q", header.Algorithm, header.ExtraHeaders[jose.HeaderType], header.KeyID)
	}
	found := jwks.Key(header.KeyID)
	if len(found) != 1 {
		return header.KeyID, jwt.Claims{}, fmt.Errorf("kid %s is in the JWKS %d times", header.KeyID, len(found))
	}
	var claims jwt.Claims
	if err := parsed.Claims(found[0], &claims); err != nil {
		return header.KeyID, jwt.Claims{}, fmt.Errorf("verify: %w", err)
	}
	return header.KeyID, claims, nil
}

// expectVerifies checks that token verifies with jwks, signed by kid for subject.
func expectVerifies(token string, jwks jose.JSONWebKeySet, kid, subject string) {
	GinkgoHelper()
	gotKid, claims, err := verify(token, jwks)
	Expect(err).NotTo(HaveOccurred())
	Expect(gotKid).To(Equal(kid))
	Expect(claims.Subject).To(Equal(subject))
}

// publishedKids returns the kids of a JWKS in order.
func publishedKids(jwks jose.JSONWebKeySet) []string {
	var kids []string
	for _, key := range jwks.Keys {
		kids = append(kids, key.KeyID)
	}
	return kids
}
