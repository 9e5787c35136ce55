package keys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/auth/keys"
	"github.com/aurora-cd/aurora/internal/envelope"
)

var _ = Describe("Manager", func() {
	var (
		name      string
		masterKey []byte
		clock     *fakeClock
	)
	BeforeEach(func() {
		name, masterKey, clock = newSecretName(), newMasterKey(), newFakeClock()
	})

	It("creates the Secret on first Load, with no private key in clear, and signs tokens the JWKS verifies", func(ctx SpecContext) {
		m := loadedManager(ctx, name, masterKey, clock)
		kid := m.CurrentKeyID()
		Expect(kid).To(MatchRegexp(`^[A-Za-z0-9_-]{43}$`), "a base64url SHA-256 thumbprint")

		secret := getSecret(ctx, name)
		Expect(secret.Type).To(Equal(corev1.SecretTypeOpaque))
		Expect(secret.Data).To(HaveLen(1))
		raw := secret.Data[keys.SecretDataKey]
		for _, forbidden := range []string{"-----BEGIN", "PRIVATE KEY", `"d"`, `"d":`} {
			Expect(string(raw)).NotTo(ContainSubstring(forbidden))
		}
		scalars, err := keys.PrivateKeyBytesForTest(ctx, m)
		Expect(err).NotTo(HaveOccurred())
		Expect(scalars).To(HaveLen(1))
		for _, scalar := range scalars {
			for _, encoded := range [][]byte{scalar, []byte(base64.StdEncoding.EncodeToString(scalar)),
				[]byte(base64.RawURLEncoding.EncodeToString(scalar)), []byte(hex.EncodeToString(scalar))} {
				Expect(bytes.Contains(raw, encoded)).To(BeFalse(), "the Secret holds the private key")
			}
		}

		stored := decodeStoredKeys(secret)
		Expect(stored.Keys).To(HaveLen(1))
		Expect(stored.Keys[0].Kid).To(Equal(kid))
		Expect(stored.Keys[0].Alg).To(Equal("ES256"))
		Expect(stored.Keys[0].CreatedAt).To(BeTemporally("==", clock.Now()))
		Expect(stored.Keys[0].ActivatedAt).NotTo(BeNil())
		Expect(stored.Keys[0].RetiredAt).To(BeNil())
		Expect(stored.currentKids()).To(Equal([]string{kid}))

		jwks := m.PublicKeys()
		Expect(jwks.Keys).To(HaveLen(1))
		Expect(jwks.Keys[0].KeyID).To(Equal(kid))
		Expect(jwks.Keys[0].Use).To(Equal("sig"))
		Expect(jwks.Keys[0].Algorithm).To(Equal("ES256"))
		Expect(jwks.Keys[0].IsPublic()).To(BeTrue())
		published, err := json.Marshal(jwks)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(published)).NotTo(ContainSubstring(`"d"`))

		expectVerifies(sign(m, "alice", clock), jwks, kid, "alice")
	})

	It("does not write the Secret when a Load has nothing to change", func(ctx SpecContext) {
		loadedManager(ctx, name, masterKey, clock)
		before := getSecret(ctx, name).ResourceVersion
		clock.Advance(time.Hour)
		loadedManager(ctx, name, masterKey, clock)
		Expect(getSecret(ctx, name).ResourceVersion).To(Equal(before))
	})

	It("fills a Secret that exists without keys, keeping what else it holds", func(ctx SpecContext) {
		Expect(cluster.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"team": "auth"}},
		})).To(Succeed())
		m := loadedManager(ctx, name, masterKey, clock)
		secret := getSecret(ctx, name)
		Expect(secret.Labels).To(HaveKeyWithValue("team", "auth"))
		Expect(decodeStoredKeys(secret).currentKids()).To(Equal([]string{m.CurrentKeyID()}))
	})

	It("gives a second Manager with the same master key the same keys", func(ctx SpecContext) {
		first := loadedManager(ctx, name, masterKey, clock)
		token := sign(first, "alice", clock)

		second := loadedManager(ctx, name, bytes.Clone(masterKey), clock)
		Expect(second.CurrentKeyID()).To(Equal(first.CurrentKeyID()))
		expectVerifies(token, second.PublicKeys(), first.CurrentKeyID(), "alice")
		expectVerifies(sign(second, "bob", clock), first.PublicKeys(), first.CurrentKeyID(), "bob")
	})

	It("refuses another master key with an error that says so, and writes nothing", func(ctx SpecContext) {
		loadedManager(ctx, name, masterKey, clock)
		before := getSecret(ctx, name).ResourceVersion

		otherKey := newMasterKey()
		other := newManager(name, otherKey, clock)
		err := other.Load(ctx)
		GinkgoWriter.Printf("Load with another master key: %v\n", err)
		Expect(err).To(MatchError(envelope.ErrWrongMasterKey))
		Expect(err.Error()).To(ContainSubstring("the master key does not match the one the signing keys were sealed with"))
		for _, key := range [][]byte{masterKey, otherKey} {
			for _, encoded := range []string{envelope.EncodeMasterKey(key), base64.RawURLEncoding.EncodeToString(key), hex.EncodeToString(key)} {
				Expect(err.Error()).NotTo(ContainSubstring(encoded))
			}
		}
		Expect(other.CurrentKeyID()).To(BeEmpty())
		_, err = other.Sign(testClaims("mallory", clock))
		Expect(err).To(MatchError(keys.ErrNotLoaded))
		Expect(other.PublicKeys().Keys).To(BeEmpty())
		Expect(other.Rotate(ctx)).To(MatchError(envelope.ErrWrongMasterKey))
		Expect(getSecret(ctx, name).ResourceVersion).To(Equal(before))
	})

	It("rotates on Rotate: new tokens carry the new kid, old tokens verify until the old key's retention ends", func(ctx SpecContext) {
		m := loadedManager(ctx, name, masterKey, clock)
		oldKid := m.CurrentKeyID()
		oldToken := sign(m, "before", clock)

		clock.Advance(2 * time.Hour)
		Expect(m.Rotate(ctx)).To(Succeed())
		newKid := m.CurrentKeyID()
		Expect(newKid).NotTo(Equal(oldKid))
		expectVerifies(sign(m, "after", clock), m.PublicKeys(), newKid, "after")
		expectVerifies(oldToken, m.PublicKeys(), oldKid, "before")
		Expect(publishedKids(m.PublicKeys())).To(Equal([]string{newKid, oldKid}))

		stored := readStoredKeys(ctx, name)
		Expect(stored.currentKids()).To(Equal([]string{newKid}))
		Expect(stored.Keys).To(HaveLen(2))

		peer := loadedManager(ctx, name, masterKey, clock)
		Expect(peer.CurrentKeyID()).To(Equal(newKid))
		expectVerifies(oldToken, peer.PublicKeys(), oldKid, "before")

		By("keeping the old key published until its retention ends")
		clock.Advance(retention - time.Second)
		Expect(publishedKids(m.PublicKeys())).To(ContainElement(oldKid))
		Expect(m.Load(ctx)).To(Succeed())
		Expect(readStoredKeys(ctx, name).kids()).To(ContainElement(oldKid))

		By("dropping it afterwards, from the JWKS at once and from the Secret at the next Load")
		clock.Advance(time.Second)
		Expect(publishedKids(m.PublicKeys())).To(Equal([]string{newKid}))
		Expect(publishedKids(peer.PublicKeys())).To(Equal([]string{newKid}))
		_, _, err := verify(oldToken, m.PublicKeys())
		Expect(err).To(HaveOccurred())
		Expect(m.Load(ctx)).To(Succeed())
		Expect(readStoredKeys(ctx, name).kids()).To(Equal([]string{newKid}))
	})

	It("rotates on schedule, publishing the next key before it signs", func(ctx SpecContext) {
		m := loadedManager(ctx, name, masterKey, clock)
		firstKid := m.CurrentKeyID()

		clock.Advance(rotationPeriod - publishAhead - time.Second)
		Expect(m.Load(ctx)).To(Succeed())
		Expect(readStoredKeys(ctx, name).Keys).To(HaveLen(1), "too early for a next key")

		clock.Advance(time.Second)
		Expect(m.Load(ctx)).To(Succeed())
		Expect(m.CurrentKeyID()).To(Equal(firstKid))
		published := publishedKids(m.PublicKeys())
		Expect(published).To(HaveLen(2))
		Expect(published[0]).To(Equal(firstKid))
		nextKid := published[1]

		By("a peer that loads now publishes the next key too")
		peer := loadedManager(ctx, name, masterKey, clock)
		Expect(peer.CurrentKeyID()).To(Equal(firstKid))
		Expect(publishedKids(peer.PublicKeys())).To(Equal([]string{firstKid, nextKid}))

		clock.Advance(publishAhead - time.Second)
		Expect(m.Load(ctx)).To(Succeed())
		Expect(m.CurrentKeyID()).To(Equal(firstKid), "the rotation period has not ended")

		clock.Advance(time.Second)
		Expect(m.Load(ctx)).To(Succeed())
		Expect(m.CurrentKeyID()).To(Equal(nextKid))
		Expect(publishedKids(m.PublicKeys())).To(Equal([]string{nextKid, firstKid}))
		Expect(peer.Load(ctx)).To(Succeed())
		Expect(peer.CurrentKeyID()).To(Equal(nextKid))
		Expect(readStoredKeys(ctx, name).currentKids()).To(Equal([]string{nextKid}))
	})

	It("after an outage past the rotation period, signs with the overdue key until the next key has been published long enough", func(ctx SpecContext) {
		m := loadedManager(ctx, name, masterKey, clock)
		firstKid := m.CurrentKeyID()

		clock.Advance(3 * rotationPeriod)
		restarted := loadedManager(ctx, name, masterKey, clock)
		Expect(restarted.CurrentKeyID()).To(Equal(firstKid), "the overdue key signs until the next key has been published long enough")
		Expect(restarted.PublicKeys().Keys).To(HaveLen(2))

		clock.Advance(publishAhead)
		Expect(restarted.Load(ctx)).To(Succeed())
		Expect(restarted.CurrentKeyID()).NotTo(Equal(firstKid))
	})

	It("makes exactly one key current when two Managers rotate concurrently", func(ctx SpecContext) {
		first := loadedManager(ctx, name, masterKey, clock)
		second := loadedManager(ctx, name, masterKey, clock)

		watcher := watchSecret(ctx, name)
		defer watcher.Stop()

		const rotationsPerManager = 4
		start := make(chan struct{})
		errs := make(chan error, 2*rotationsPerManager)
		var wg sync.WaitGroup
		for _, m := range []*keys.Manager{first, second} {
			wg.Go(func() {
				<-start
				for range rotationsPerManager {
					errs <- m.Rotate(ctx)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}

		stored := readStoredKeys(ctx, name)
		Expect(stored.currentKids()).To(HaveLen(1))
		Expect(first.Load(ctx)).To(Succeed())
		Expect(second.Load(ctx)).To(Succeed())
		Expect(first.CurrentKeyID()).To(Equal(stored.currentKids()[0]))
		Expect(second.CurrentKeyID()).To(Equal(stored.currentKids()[0]))

		By("never having written a version of the Secret with two current keys")
		versions := 0
		for done := false; !done; {
			select {
			case event := <-watcher.ResultChan():
				secret, ok := event.Object.(*corev1.Secret)
				Expect(ok).To(BeTrue(), "watch event %s: %v", event.Type, event.Object)
				Expect(decodeStoredKeys(secret).currentKids()).To(HaveLen(1))
				versions++
				done = secret.ResourceVersion == getSecret(ctx, name).ResourceVersion
			case <-time.After(10 * time.Second):
				Fail("the watch did not reach the Secret's latest version")
			}
		}
		Expect(versions).To(BeNumerically(">=", rotationsPerManager), "each Manager's own rotations are sequential")
		GinkgoWriter.Printf("%d Secret versions, %d keys stored\n", versions, len(stored.Keys))
	})

	It("creates exactly one Secret and one key when replicas start together", func(ctx SpecContext) {
		const replicas = 4
		managers := make([]*keys.Manager, replicas)
		start := make(chan struct{})
		errs := make(chan error, replicas)
		var wg sync.WaitGroup
		for i := range managers {
			managers[i] = newManager(name, masterKey, clock)
			wg.Go(func() {
				<-start
				errs <- managers[i].Load(ctx)
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		stored := readStoredKeys(ctx, name)
		Expect(stored.Keys).To(HaveLen(1))
		for _, m := range managers {
			Expect(m.CurrentKeyID()).To(Equal(stored.Keys[0].Kid))
		}
	})

	It("reloads in Run, picking up another replica's rotation, until the context ends", func(ctx SpecContext) {
		opts := testOptions(name, masterKey, clock)
		opts.ReloadInterval = 100 * time.Millisecond
		runner, err := keys.NewManager(opts)
		Expect(err).NotTo(HaveOccurred())

		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		runErr := make(chan error, 1)
		go func() {
			defer GinkgoRecover()
			runErr <- runner.Run(runCtx)
		}()
		Eventually(runner.CurrentKeyID).ShouldNot(BeEmpty())

		other, err := keys.NewManager(opts)
		Expect(err).NotTo(HaveOccurred())
		Expect(other.Rotate(ctx)).To(Succeed())
		Eventually(runner.CurrentKeyID).Should(Equal(other.CurrentKeyID()))

		By("rotating on schedule")
		rotatedKid := other.CurrentKeyID()
		clock.Advance(rotationPeriod) // the first key's retention ends, the next key is due
		Eventually(func() []string { return publishedKids(runner.PublicKeys()) }).Should(
			SatisfyAll(HaveLen(2), HaveExactElements(rotatedKid, Not(Equal(rotatedKid)))))
		Expect(runner.CurrentKeyID()).To(Equal(rotatedKid))
		clock.Advance(opts.ReloadInterval + opts.Leeway)
		Eventually(runner.CurrentKeyID).ShouldNot(Equal(rotatedKid))

		cancel()
		Eventually(runErr).Should(Receive(BeNil()))
	})

	It("returns the first Load's error from Run", func(ctx SpecContext) {
		loadedManager(ctx, name, masterKey, clock)
		Expect(newManager(name, newMasterKey(), clock).Run(ctx)).To(MatchError(envelope.ErrWrongMasterKey))
	})

	DescribeTable("refuses a tampered Secret with an error, never a panic, and writes nothing",
		func(ctx SpecContext, tamper func(ctx context.Context, stored storedKeys) []byte, wantErr any) {
			m := loadedManager(ctx, name, masterKey, clock)
			Expect(m.Rotate(ctx)).To(Succeed()) // two keys
			writeKeysJSON(ctx, name, tamper(ctx, readStoredKeys(ctx, name)))
			before := getSecret(ctx, name).ResourceVersion

			fresh := newManager(name, masterKey, clock)
			err := fresh.Load(ctx)
			GinkgoWriter.Printf("Load of the tampered Secret: %v\n", err)
			Expect(err).To(MatchError(wantErr))
			Expect(fresh.CurrentKeyID()).To(BeEmpty())
			currentKid := m.CurrentKeyID()
			Expect(m.Load(ctx)).To(MatchError(wantErr))
			Expect(m.CurrentKeyID()).To(Equal(currentKid), "a failed reload keeps the keys loaded before")
			Expect(getSecret(ctx, name).ResourceVersion).To(Equal(before))
		},
		Entry("a flipped byte in a sealed private key", func(_ context.Context, stored storedKeys) []byte {
			sealed := stored.Keys[0].SealedPrivateKey
			sealed[len(sealed)/2] ^= 0x40
			return mustMarshal(stored)
		}, envelope.ErrCorrupt),
		Entry("two keys' sealed private keys swapped", func(_ context.Context, stored storedKeys) []byte {
			stored.Keys[0].SealedPrivateKey, stored.Keys[1].SealedPrivateKey = stored.Keys[1].SealedPrivateKey, stored.Keys[0].SealedPrivateKey
			return mustMarshal(stored)
		}, envelope.ErrCorrupt),
		Entry("a sealed private key copied from another Secret under the same master key", func(ctx context.Context, stored storedKeys) []byte {
			otherName := newSecretName()
			loadedManager(ctx, otherName, masterKey, clock)
			stored.Keys[0] = readStoredKeys(ctx, otherName).Keys[0]
			return mustMarshal(stored)
		}, envelope.ErrCorrupt),
		Entry("a flipped byte in the JSON", func(_ context.Context, stored storedKeys) []byte {
			data := mustMarshal(stored)
			data[0] ^= 0x01
			return data
		}, ContainSubstring("keys.json is not valid")),
		Entry("a newer layout version", func(_ context.Context, stored storedKeys) []byte {
			stored.Version = 2
			return mustMarshal(stored)
		}, ContainSubstring("newer Aurora")),
		Entry("a duplicated key", func(_ context.Context, stored storedKeys) []byte {
			stored.Keys = append(stored.Keys, stored.Keys[0])
			return mustMarshal(stored)
		}, ContainSubstring("appears twice")),
	)
})

var _ = DescribeTable("NewManager refuses incomplete options",
	func(adjust func(*keys.Options), wantErr string) {
		opts := keys.Options{
			Client: cluster.Client, Namespace: namespace, SecretName: "keys",
			MasterKey: bytes.Repeat([]byte{1}, 32), TokenLifetime: time.Hour,
		}
		adjust(&opts)
		_, err := keys.NewManager(opts)
		Expect(err).To(MatchError(ContainSubstring(wantErr)))
	},
	Entry("no client", func(o *keys.Options) { o.Client = nil }, "no Client"),
	Entry("no namespace", func(o *keys.Options) { o.Namespace = "" }, "no Namespace"),
	Entry("no Secret name", func(o *keys.Options) { o.SecretName = "" }, "no SecretName"),
	Entry("no token lifetime", func(o *keys.Options) { o.TokenLifetime = 0 }, "TokenLifetime 0s is not positive"),
	Entry("negative rotation period", func(o *keys.Options) { o.RotationPeriod = -time.Hour }, "RotationPeriod -1h0m0s is negative"),
	Entry("a 16-byte master key", func(o *keys.Options) { o.MasterKey = o.MasterKey[:16] }, "master key is 16 bytes, want 32"),
	Entry("no master key", func(o *keys.Options) { o.MasterKey = nil }, "master key is 0 bytes, want 32"),
)

var _ = It("fails to sign before Load", func() {
	m, err := keys.NewManager(keys.Options{
		Client: cluster.Client, Namespace: namespace, SecretName: "never-loaded",
		MasterKey: bytes.Repeat([]byte{1}, 32), TokenLifetime: time.Hour,
	})
	Expect(err).NotTo(HaveOccurred())
	_, err = m.Sign(map[string]any{"sub": "alice"})
	Expect(errors.Is(err, keys.ErrNotLoaded)).To(BeTrue())
	Expect(m.CurrentKeyID()).To(BeEmpty())
	Expect(m.PublicKeys()).To(Equal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}))
})

// watchSecret watches Secret name from its current version on.
func watchSecret(ctx context.Context, name string) watch.Interface {
	GinkgoHelper()
	watchClient, err := client.NewWithWatch(cluster.Config, client.Options{})
	Expect(err).NotTo(HaveOccurred())
	watcher, err := watchClient.Watch(ctx, &corev1.SecretList{}, client.InNamespace(namespace),
		&client.ListOptions{Raw: &metav1.ListOptions{
			FieldSelector:   "metadata.name=" + name,
			ResourceVersion: getSecret(ctx, name).ResourceVersion,
		}})
	Expect(err).NotTo(HaveOccurred())
	return watcher
}

// mustMarshal encodes v as JSON.
func mustMarshal(v any) []byte {
	GinkgoHelper()
	data, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return data
}
