package security_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	jose "github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/keys"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/internal/envelope"
)

// rawGet reads a path of the cloud API server as it answers, JSON bytes.
func rawGet(ctx context.Context, path string) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(cloud.Config)
	if err != nil {
		return nil, err
	}
	return cs.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
}

// encodings are the forms a secret could take in a stored object.
func encodings(secret []byte) [][]byte {
	return [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawStdEncoding.EncodeToString(secret)),
		[]byte(base64.RawURLEncoding.EncodeToString(secret)), []byte(hex.EncodeToString(secret))}
}

// expectAbsent fails when any encoding of secret appears in stored.
func expectAbsent(stored []byte, secret []byte, what string) {
	GinkgoHelper()
	for _, enc := range encodings(secret) {
		Expect(bytes.Contains(stored, enc)).To(BeFalse(), "%s appears in the stored object", what)
	}
}

var _ = Describe("Secrets at rest", func() {
	It("stores the signing keys only sealed: the Secret holds no private key, yet opens to the key that signs tokens", func(ctx SpecContext) {
		tok := mustToken(ctx, newCredential(ctx, acme, "at-rest", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))

		By("reading the Secret as the API server returns it")
		raw, err := rawGet(ctx, "/api/v1/namespaces/"+keysNamespace+"/secrets/"+keysSecret)
		Expect(err).NotTo(HaveOccurred())
		secret := &corev1.Secret{}
		Expect(json.Unmarshal(raw, secret)).To(Succeed())
		var file struct {
			Keys []struct {
				KeyID            string `json:"kid"`
				SealedPrivateKey []byte `json:"sealedPrivateKey"`
			} `json:"keys"`
		}
		Expect(json.Unmarshal(secret.Data[keys.SecretDataKey], &file)).To(Succeed())
		Expect(file.Keys).NotTo(BeEmpty())
		for _, k := range []string{"PRIVATE KEY", `"d":`} {
			Expect(string(raw) + string(secret.Data[keys.SecretDataKey])).NotTo(ContainSubstring(k))
		}

		By("opening each sealed key with the master key: only then does the private key appear")
		signed, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		Expect(err).NotTo(HaveOccurred())
		sealer, err := envelope.NewSealer(masterKey)
		Expect(err).NotTo(HaveOccurred())
		verified := false
		for _, k := range file.Keys {
			Expect(k.SealedPrivateKey[:4]).To(Equal([]byte("AENV")), "key %s is sealed", k.KeyID)
			der, err := sealer.Open(k.SealedPrivateKey, []byte(keysNamespace+"/"+keysSecret+"/"+keys.SecretDataKey+"/"+k.KeyID))
			Expect(err).NotTo(HaveOccurred(), "opening key %s", k.KeyID)
			parsed, err := x509.ParsePKCS8PrivateKey(der)
			Expect(err).NotTo(HaveOccurred())
			private := parsed.(*ecdsa.PrivateKey)
			d, err := private.Bytes()
			Expect(err).NotTo(HaveOccurred())
			for _, stored := range [][]byte{raw, secret.Data[keys.SecretDataKey]} {
				expectAbsent(stored, der, "the PKCS#8 private key "+k.KeyID)
				expectAbsent(stored, d, "the private scalar of "+k.KeyID)
			}
			if _, err := signed.Verify(&private.PublicKey); err == nil {
				verified = true
			}
		}
		Expect(verified).To(BeTrue(), "one of the sealed keys is the key that signed a fresh token")
	})

	It("keeps only a hash of a client secret: once the one-time Secret is deleted, no object holds it, and it still works", func(ctx SpecContext) {
		c := newCredential(ctx, acme, "hashed", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		oneTime := &corev1.Secret{}
		Expect(cloudClient.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: machinecredential.SecretName(c.name)}, oneTime)).To(Succeed())
		Expect(cloudClient.Delete(ctx, oneTime)).To(Succeed())

		By("reading every Secret, ConfigMap and MachineCredential of every namespace, raw")
		for _, resource := range []string{"secrets", "configmaps"} {
			raw, err := rawGet(ctx, "/api/v1/"+resource)
			Expect(err).NotTo(HaveOccurred())
			expectAbsent(raw, []byte(c.secret), "the client secret in "+resource)
		}
		list := &iamv1alpha1.MachineCredentialList{}
		Expect(cloudClient.List(ctx, list, client.InNamespace(c.namespace))).To(Succeed())
		all, err := json.Marshal(list)
		Expect(err).NotTo(HaveOccurred())
		expectAbsent(all, []byte(c.secret), "the client secret in MachineCredentials")

		By("the secret still gets a token: the hash verifies it")
		Expect(mustToken(ctx, c)).NotTo(BeEmpty())
	})
})
