package security_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

var _ = Describe("Requests over their limits", func() {
	It("the auth service refuses a token request body over 64 KiB, and keeps serving", func(ctx SpecContext) {
		c := newCredential(ctx, acme, "limits", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		body := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("a", 1<<20)}}.Encode()
		req, err := newFormRequest(ctx, issuer+"/oauth/token", body)
		Expect(err).NotTo(HaveOccurred())
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
		resp, err := httpClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		var answer bytes.Buffer
		_, _ = answer.ReadFrom(resp.Body)
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(BeElementOf(http.StatusBadRequest, http.StatusRequestEntityTooLarge), answer.String())
		Expect(answer.String()).NotTo(ContainSubstring(c.secret))
		Expect(tokenStatus(ctx, c)).To(Equal(http.StatusOK), "the next request is served")
	})

	It("the Hub ends a stream that sends a message over its limit, and keeps serving that agent and others", func(ctx SpecContext) {
		c := newCredential(ctx, acme, "big-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull})
		t, err := openTunnel(ctx, mustToken(ctx, c), "big-agent")
		Expect(err).NotTo(HaveOccurred())
		Expect(t.welcome.GetMaxMessageBytes()).To(BeNumerically("==", maxMessageBytes), "the limit is announced in Welcome")
		huge := fmt.Appendf(nil, `{"phase":"Progressing","message":%q}`, strings.Repeat("x", 2*maxMessageBytes))
		_ = t.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{
			Ref: &tunnelv1.RolloutRef{Uid: "u", Name: "big"}, Status: huge, ObservedAtUnixNano: time.Now().UnixNano()}}})
		Eventually(t.received).WithContext(ctx).WithTimeout(10 * time.Second).Should(BeClosed())
		Expect(status.Code(t.ended)).To(Equal(codes.ResourceExhausted), "%v", t.ended)

		By("the same agent and another one connect again")
		again, err := openTunnel(ctx, mustToken(ctx, c), "big-agent")
		Expect(err).NotTo(HaveOccurred())
		Expect(again.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}})).To(Succeed())
		other := newCredential(ctx, globex, "other-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull})
		_, err = openTunnel(ctx, mustToken(ctx, other), "other-agent")
		Expect(err).NotTo(HaveOccurred())
	})
})
