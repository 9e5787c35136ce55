package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/server"
)

// The figures of this spec are printed, not asserted: they depend on the machine.
var _ = Describe("Figures", func() {
	It("prints the latency of common requests over HTTPS against a real API server", func(ctx context.Context) {
		tok := token(newCredential(ctx, ours, "figures", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))
		resp := postYAML("/pipelines/kubernetes", tok, deployFile("figures", ""))
		Expect(resp.status).To(Equal(http.StatusAccepted), string(resp.body))
		var started server.StartAnswer
		resp.into(&started)
		for _, c := range []struct {
			what string
			do   func() int
		}{
			{"GET /whoami", func() int { return get("/whoami", tok).status }},
			{"GET /pipelines/{id}", func() int { return get("/pipelines/"+started.PipelineID, tok).status }},
			{"GET /pipelines", func() int { return get("/pipelines", tok).status }},
			{"POST /pipelines/kubernetes?dryRun=true", func() int {
				return postYAML("/pipelines/kubernetes?dryRun=true", tok, deployFile("figures-dry", "")).status
			}},
		} {
			const n = 50
			took := make([]time.Duration, 0, n)
			for range n {
				start := time.Now()
				Expect(c.do()).To(Equal(http.StatusOK), c.what)
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			AddReportEntry(c.what, fmt.Sprintf("p50 %s, p95 %s over %d sequential requests", took[n/2].Round(time.Microsecond), took[n*95/100].Round(time.Microsecond), n))
		}
	})
})
