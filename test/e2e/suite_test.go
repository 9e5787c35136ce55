// Package e2e runs Aurora whole — a cloud cluster, two full target clusters (staging and prod) with
// simulated nodes, the controllers, the auth service, the Hub, and an agent with its Rollout
// executor per target — and deploys through it as users do: Deployments and Judgments applied to
// the cloud cluster.
package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aurora-cd/aurora/internal/devenv"
)

var env *devenv.Env

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	start := time.Now()
	var err error
	env, err = devenv.Start(ctx, devenv.Options{Targets: []string{"staging", "prod"}, TargetNodes: 3,
		HeartbeatInterval: time.Second, APIURL: callbackAPIURL, Log: ctrl.Log.WithName("devenv")})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	AddReportEntry("environment started in", time.Since(start).String())
}, NodeTimeout(20*time.Minute))
