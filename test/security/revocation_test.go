package security_test

import (
	"errors"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/verify"
)

var _ = Describe("A revoked credential", func() {
	It("gets no new token once deleted, and its last token is refused once it expires", func(ctx SpecContext) {
		c := newCredential(ctx, acme, "revoked", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}, "revoked-agent")
		tok := mustToken(ctx, c)
		issuedAt := time.Now()
		t, err := openTunnel(ctx, tok, "revoked-agent")
		Expect(err).NotTo(HaveOccurred(), "the credential works before it is revoked")
		_ = t.conn.Close()

		By("deleting the MachineCredential")
		mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: c.namespace}}
		Expect(cloudClient.Delete(ctx, mc)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(cloudClient.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: c.name}, mc))
		}).WithContext(ctx).Should(BeTrue())
		Eventually(func() int { return tokenStatus(ctx, c) }).WithContext(ctx).WithTimeout(15*time.Second).
			Should(Equal(http.StatusUnauthorized), "no new token for a deleted credential")

		By("waiting for the last token to expire")
		time.Sleep(time.Until(issuedAt.Add(tokenLifetime + 2*time.Second)))
		_, err = verifier.Verify(ctx, tok)
		Expect(errors.Is(err, verify.ErrExpired)).To(BeTrue(), "the verifier: %v", err)
		_, err = openTunnel(ctx, tok, "revoked-agent")
		Expect(status.Code(err)).To(Equal(codes.Unauthenticated), "the Hub: %v", err)
		// Repeated failures lock the client out (429 slow_down): a refusal as well.
		Consistently(func() int { return tokenStatus(ctx, c) }).WithContext(ctx).WithTimeout(2*time.Second).WithPolling(500*time.Millisecond).
			Should(BeElementOf(http.StatusUnauthorized, http.StatusTooManyRequests), "still no new token")
	})
})
