package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
	"github.com/aurora-cd/aurora/server"
)

var _ = Describe("Tenant secrets", func() {
	badInputs := 0
	putSecret := func(tok, name, body string) response {
		return call(http.MethodPut, "/secrets/"+name, tok, []byte(body), "application/json")
	}
	listSecrets := func(tok string) []server.Secret {
		GinkgoHelper()
		resp := get("/secrets?limit=500", tok)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		var page struct {
			Items []server.Secret `json:"items"`
		}
		resp.into(&page)
		return page.Items
	}

	It("sets, lists (names only), replaces and deletes a secret, storing only ciphertext", func(ctx context.Context) {
		deployer := newCredential(ctx, ours, "secrets-deployer", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		tok := token(deployer)

		resp := putSecret(tok, "api-token", `{"value": "first-s3cr3t-value"}`)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		var set server.Secret
		resp.into(&set)
		Expect(set.Name).To(Equal("api-token"))
		updated, err := time.Parse(time.RFC3339, set.UpdatedIso8601)
		Expect(err).NotTo(HaveOccurred())
		Expect(updated).To(BeTemporally("~", time.Now(), time.Minute))
		Expect(string(resp.body)).NotTo(ContainSubstring("first-s3cr3t-value"))

		resp = putSecret(tok, "api-token", `{"value": "second-s3cr3t-value"}`)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))

		list := listSecrets(tok)
		Expect(list).To(ContainElement(And(HaveField("Name", "api-token"), HaveField("UpdatedIso8601", Not(BeEmpty())))))
		raw := get("/secrets", tok)
		Expect(string(raw.body)).NotTo(ContainSubstring("s3cr3t"))

		By("the Secret object holds neither the plaintext nor its base64")
		sec := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ours.namespace, Name: tenantsecrets.StoreName}, sec)).To(Succeed())
		for _, v := range sec.Data {
			Expect(string(v)).NotTo(ContainSubstring("s3cr3t"))
		}
		for _, plain := range []string{"first-s3cr3t-value", "second-s3cr3t-value"} {
			for _, form := range []string{plain, base64.StdEncoding.EncodeToString([]byte(plain))} {
				Expect(sec.String()).NotTo(ContainSubstring(form))
			}
		}
		opened, err := (&tenantsecrets.Store{Client: k8sClient, Sealer: secretSealer}).Resolver(ctx, ours.namespace)("api-token")
		Expect(err).NotTo(HaveOccurred())
		Expect(opened).To(Equal("second-s3cr3t-value"))

		By("deleting it, then deleting it again")
		resp = call(http.MethodDelete, "/secrets/api-token", tok, nil, "")
		Expect(resp.status).To(Equal(http.StatusNoContent), string(resp.body))
		Expect(listSecrets(tok)).NotTo(ContainElement(HaveField("Name", "api-token")))
		resp = call(http.MethodDelete, "/secrets/api-token", tok, nil, "")
		Expect(resp.status).To(Equal(http.StatusNotFound), string(resp.body))
		Expect(resp.errorBody().Code).To(Equal(server.CodeNotFound))
	})

	DescribeTable("refuses bad input with the field and what was expected",
		func(ctx context.Context, name, body string, status int, code, field, message string) {
			badInputs++
			tok := token(newCredential(ctx, ours, fmt.Sprintf("secrets-bad-%d", badInputs), []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))
			resp := putSecret(tok, name, body)
			Expect(resp.status).To(Equal(status), string(resp.body))
			e := resp.errorBody()
			Expect(e.Code).To(Equal(code))
			Expect(e.Message).To(ContainSubstring(message))
			if field != "" {
				Expect(e.Details).To(ContainElement(HaveField("Field", field)))
			}
			Expect(string(resp.body)).NotTo(ContainSubstring("zzzzzzzz"), "the value is never quoted")
			Expect(listSecrets(tok)).NotTo(ContainElement(HaveField("Name", name)))
		},
		Entry("a name that is no Secret data key", "bad%20name", `{"value": "x"}`, http.StatusBadRequest, server.CodeInvalid, "name", `secret name "bad name" is not valid`),
		Entry("no value", "api-empty", `{}`, http.StatusBadRequest, server.CodeInvalid, "value", "required"),
		Entry("a value that is not a string", "api-number", `{"value": 42}`, http.StatusBadRequest, server.CodeInvalid, "value", "expected string"),
		Entry("an unknown field", "api-unknown", `{"value": "x", "data": "y"}`, http.StatusBadRequest, server.CodeInvalid, "data", "unknown field"),
		Entry("a value over 64 KiB", "api-big", `{"value": "`+strings.Repeat("z", tenantsecrets.MaxValueBytes+1)+`"}`, http.StatusRequestEntityTooLarge, server.CodeTooLarge, "value", "expected at most 65536"),
		Entry("a body over the limit", "api-huge", `{"value": "`+strings.Repeat("z", server.MaxSecretBodyBytes)+`"}`, http.StatusRequestEntityTooLarge, server.CodeTooLarge, "", "exceeds the limit"),
	)

	It("needs a deployment, tenant or organization scope", func(ctx context.Context) {
		reader := token(newCredential(ctx, ours, "secrets-reader", []iamv1alpha1.Scope{iamv1alpha1.ScopeInfrastructureRead}))
		Expect(get("/secrets", reader).status).To(Equal(http.StatusForbidden))
		Expect(putSecret(reader, "api-forbidden", `{"value": "x"}`).status).To(Equal(http.StatusForbidden))
		Expect(call(http.MethodDelete, "/secrets/api-forbidden", reader, nil, "").status).To(Equal(http.StatusForbidden))
		admin := token(newCredential(ctx, ours, "secrets-admin", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull}))
		Expect(putSecret(admin, "api-admin", `{"value": "x"}`).status).To(Equal(http.StatusOK))
		Expect(call(http.MethodDelete, "/secrets/api-admin", admin, nil, "").status).To(Equal(http.StatusNoContent))
	})

	It("answers 503 when the server has no master key", func(ctx context.Context) {
		api, err := server.New(server.Options{Client: k8sClient, Verifier: newVerifier(ctx, time.Now)})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewUnstartedServer(api.Handler())
		ts.TLS = serverTLS.Clone()
		ts.StartTLS()
		defer ts.Close()
		tok := token(newCredential(ctx, ours, "secrets-nokey", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))
		resp := call(http.MethodPut, "/secrets/api-nokey", tok, []byte(`{"value": "x"}`), "application/json", ts.URL)
		Expect(resp.status).To(Equal(http.StatusServiceUnavailable), string(resp.body))
		Expect(resp.errorBody().Message).To(ContainSubstring("--master-key-file"))
		Expect(call(http.MethodGet, "/secrets", tok, nil, "", ts.URL).status).To(Equal(http.StatusServiceUnavailable))
	})
})
