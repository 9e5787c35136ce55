package fault_test

import (
	"context"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/rna"
)

// floodMessages is how many status updates the flooding agent sends as fast as it can.
const floodMessages = 10000

// floodStatuses connects a second agent ("flood") straight to the Hub, gives it a Rollout, and
// sends floodMessages status updates of that Rollout as fast as the stream takes them. The Hub must
// acknowledge them, keep the real agent connected, and end with the last status in the cloud.
func floodStatuses(ctx context.Context) {
	GinkgoHelper()
	const floodAgent = "flood"
	cred := newAgentCredential(ctx, "flood-agent", floodAgent)
	ro := &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "flood", Namespace: tenantNS,
			Labels: map[string]string{deployv1alpha1.AgentLabel: floodAgent, rolloutv1alpha1.TargetLabel: floodAgent}},
		Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: "flood", Application: "flood", Target: floodAgent, Account: floodAgent, Namespace: "flood",
			Manifests: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flood\n"}, Strategy: canary(100)},
	}
	Expect(cloudClient.Create(ctx, ro)).To(Succeed())

	caPEM, err := os.ReadFile(caFile)
	Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := tlsutil.ClientConfig(caPEM)
	Expect(err).NotTo(HaveOccurred())
	tokens, err := rna.ClientCredentialsTokenSource(ctx, rna.ClientCredentials{ClientID: cred.id, ClientSecret: cred.secret,
		TokenURL: issuer + "/oauth/token", TLS: tlsConfig})
	Expect(err).NotTo(HaveOccurred())
	// The auth service learns of new credentials through a watch, which may still be catching up
	// after the API server restart of an earlier spec.
	var tok string
	Eventually(func() (err error) { tok, err = tokens(ctx); return err }).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	conn, err := grpc.NewClient(hubAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
		grpc.WithPerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(tok))))
	Expect(err).NotTo(HaveOccurred())
	streamCtx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); _ = conn.Close() }()
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(streamCtx)
	Expect(err).NotTo(HaveOccurred())
	id := uint64(0)
	send := func(env *tunnelv1.Envelope) error {
		id++
		env.Id, env.SentAtUnixNano = id, time.Now().UnixNano()
		return stream.Send(env)
	}
	Expect(send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{AgentIdentifier: floodAgent, AgentVersion: "flood"}}})).To(Succeed())
	first, err := stream.Recv()
	Expect(err).NotTo(HaveOccurred())
	Expect(first.GetWelcome()).NotTo(BeNil())

	acks := make(chan *tunnelv1.Ack, floodMessages+16)
	go func() {
		for {
			env, err := stream.Recv()
			if err != nil {
				close(acks)
				return
			}
			if a := env.GetAck(); a != nil {
				acks <- a
			}
			if a := env.GetApplyRollout(); a != nil {
				_ = send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{Ack: &tunnelv1.Ack{AckId: env.GetId(), Ok: true}}})
			}
		}
	}()
	Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
	ref := &tunnelv1.RolloutRef{Uid: string(ro.UID), Namespace: tenantNS, Name: ro.Name, Generation: ro.Generation}
	started := time.Now()
	var last string
	for i := range floodMessages {
		last = fmt.Sprintf("flood %d of %d", i+1, floodMessages)
		status := fmt.Sprintf(`{"phase":"Progressing","weight":%d,"message":%q}`, i%100, last)
		Expect(send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{
			Ref: ref, Status: []byte(status), ObservedAtUnixNano: time.Now().UnixNano()}}})).To(Succeed(), "status %d", i)
	}
	sent := time.Since(started)
	acked, refused := 0, 0
	Eventually(func() int {
		for {
			select {
			case a, ok := <-acks:
				if !ok {
					return -1
				}
				if a.GetOk() {
					acked++
				} else {
					refused++
				}
			default:
				return acked + refused
			}
		}
	}).WithContext(ctx).WithTimeout(2*time.Minute).Should(BeNumerically(">=", floodMessages), "every status is acknowledged")
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		g.Expect(ro.Status.Message).To(Equal(last))
	}).WithContext(ctx).WithTimeout(60*time.Second).Should(Succeed(), "the cloud ends on the last status")
	AddReportEntry("status flood", fmt.Sprintf("%d updates sent in %s, all acknowledged after %s (%d ok, %d refused)",
		floodMessages, sent.Round(time.Millisecond), time.Since(started).Round(time.Millisecond), acked, refused))
	expectAgentConnected(ctx)
	a := &deployv1alpha1.Agent{}
	Expect(cloudClient.Get(ctx, client.ObjectKey{Namespace: tenantNS, Name: agentID}, a)).To(Succeed())
	Expect(a.Status.Connected).To(BeTrue(), "the real agent stayed connected through the flood")
}
