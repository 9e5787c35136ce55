package tunnel_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
)

// rawTunnel opens a tunnel stream with token and sends Hello as agent id.
func rawTunnel(ctx context.Context, token, id string) (tunnelv1.Tunnel_ConnectClient, func()) {
	GinkgoHelper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(clientTLS))}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(token))))
	}
	conn, err := grpc.NewClient(hubAddr, opts...)
	Expect(err).NotTo(HaveOccurred())
	streamCtx, cancel := context.WithCancel(ctx)
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(streamCtx)
	Expect(err).NotTo(HaveOccurred())
	_ = stream.Send(&tunnelv1.Envelope{Id: 1, Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{AgentIdentifier: id, AgentVersion: "raw"}}})
	return stream, func() { cancel(); _ = conn.Close() }
}

// expectRefused expects the stream to end with code.
func expectRefused(stream tunnelv1.Tunnel_ConnectClient, code codes.Code) {
	GinkgoHelper()
	_, err := stream.Recv()
	Expect(err).To(HaveOccurred())
	Expect(status.Code(err)).To(Equal(code), err.Error())
}

var _ = Describe("Tunnel refusals", Ordered, func() {
	BeforeAll(func(ctx SpecContext) {
		stop := startHub(ctx)
		DeferCleanup(stop)
	})

	It("refuses a token without the agentHub scope", func(ctx SpecContext) {
		id, secret := agentCredentials(ctx, tenantNamespace, "ci-only", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		stream, closeFn := rawTunnel(ctx, tokenFor(ctx, id, secret, string(iamv1alpha1.ScopeDeploymentFull)), agentID)
		defer closeFn()
		expectRefused(stream, codes.PermissionDenied)
	})

	It("refuses an agent identifier the credential is not bound to", func(ctx SpecContext) {
		id, secret := agentCredentials(ctx, tenantNamespace, "prod-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull},
			func(mc *iamv1alpha1.MachineCredential) { mc.Spec.AgentIdentifiers = []string{"prod"} })
		stream, closeFn := rawTunnel(ctx, tokenFor(ctx, id, secret), agentID)
		defer closeFn()
		expectRefused(stream, codes.PermissionDenied)
	})

	It("refuses an expired token and a missing one", func(ctx SpecContext) {
		expiresAt := metav1.NewTime(time.Now().Add(2 * time.Second))
		id, secret := agentCredentials(ctx, tenantNamespace, "short-lived-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull},
			func(mc *iamv1alpha1.MachineCredential) { mc.Spec.ExpiresAt = &expiresAt })
		token := tokenFor(ctx, id, secret)
		time.Sleep(time.Until(expiresAt.Time) + 1500*time.Millisecond) // past the verifier's 1s leeway
		stream, closeFn := rawTunnel(ctx, token, agentID)
		defer closeFn()
		expectRefused(stream, codes.Unauthenticated)

		stream, closeNoToken := rawTunnel(ctx, "", agentID)
		defer closeNoToken()
		expectRefused(stream, codes.Unauthenticated)
	})

	It("gives an agent of one tenant nothing of another tenant's", func(ctx SpecContext) {
		acme := cloudRollout("acme-only", "potato", 100)
		Expect(cloudClient.Create(ctx, acme)).To(Succeed())
		globex := cloudRollout("globex-own", "potato", 100)
		globex.Namespace = "aurora-globex-prod"
		Expect(cloudClient.Create(ctx, globex)).To(Succeed())

		id, secret := agentCredentials(ctx, "aurora-globex-prod", "globex-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull})
		stream, closeFn := rawTunnel(ctx, tokenFor(ctx, id, secret), agentID) // the same identifier as acme's agent
		defer closeFn()
		applied := map[string]bool{}
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			env, err := recvWithTimeout(stream, time.Until(deadline))
			if err != nil {
				break
			}
			if a := env.GetApplyRollout(); a != nil {
				applied[a.GetRef().GetNamespace()+"/"+a.GetRef().GetName()] = true
				_ = stream.Send(&tunnelv1.Envelope{Id: env.GetId() + 1000, Payload: &tunnelv1.Envelope_Ack{Ack: &tunnelv1.Ack{AckId: env.GetId(), Ok: true}}})
			}
		}
		Expect(applied).To(HaveKey("aurora-globex-prod/globex-own"), "the agent gets its own tenant's Rollout")
		for key := range applied {
			Expect(key).To(HavePrefix("aurora-globex-prod/"), "never another tenant's")
		}

		a := &deployv1alpha1.Agent{}
		Expect(cloudClient.Get(ctx, objectKey("aurora-globex-prod", agentID), a)).To(Succeed())
		Expect(a.Status.ClientID).To(Equal(id), "the Agent is registered in the token's tenant")
	})
})

// recvWithTimeout receives one envelope or gives up after d.
func recvWithTimeout(stream tunnelv1.Tunnel_ConnectClient, d time.Duration) (*tunnelv1.Envelope, error) {
	type result struct {
		env *tunnelv1.Envelope
		err error
	}
	ch := make(chan result, 1)
	go func() {
		env, err := stream.Recv()
		ch <- result{env, err}
	}()
	select {
	case r := <-ch:
		return r.env, r.err
	case <-time.After(d):
		return nil, context.DeadlineExceeded
	}
}
