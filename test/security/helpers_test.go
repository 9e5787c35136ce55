package security_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
)

// credential is a machine credential's client id and secret.
type credential struct{ name, namespace, id, secret string }

// newCredential creates a MachineCredential in the tenant with scopes (bound to agents when given)
// and returns its client id and secret once the controller stored the hash that verifies it.
func newCredential(ctx context.Context, t tenantRef, prefix string, scopes []iamv1alpha1.Scope, agents ...string) credential {
	GinkgoHelper()
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(prefix), Namespace: t.namespace()},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: scopes, AgentIdentifiers: agents}}
	Expect(cloudClient.Create(ctx, mc)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(mc.Status.SecretHashes).NotTo(BeEmpty())
	}).WithContext(ctx).Should(Succeed())
	s := &corev1.Secret{}
	Expect(cloudClient.Get(ctx, types.NamespacedName{Namespace: mc.Namespace, Name: machinecredential.SecretName(mc.Name)}, s)).To(Succeed())
	return credential{name: mc.Name, namespace: mc.Namespace,
		id: string(s.Data[machinecredential.ClientIDKey]), secret: string(s.Data[machinecredential.ClientSecretKey])}
}

// token gets a token for the credential with the client-credentials grant, for every scope of the
// credential, or an error.
func token(ctx context.Context, c credential) (string, error) {
	req, err := newFormRequest(ctx, issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}.Encode())
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return "", fmt.Errorf("decoding the token answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || answer.AccessToken == "" {
		return "", fmt.Errorf("token request: HTTP %d %s", resp.StatusCode, answer.Error)
	}
	return answer.AccessToken, nil
}

// mustToken is token failing the spec on error.
func mustToken(ctx context.Context, c credential) string {
	GinkgoHelper()
	tok, err := token(ctx, c)
	Expect(err).NotTo(HaveOccurred())
	return tok
}

// newFormRequest is a POST of a form body.
func newFormRequest(ctx context.Context, target, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// tokenStatus posts a client-credentials request for the credential and returns the HTTP status.
func tokenStatus(ctx context.Context, c credential) int {
	GinkgoHelper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := newFormRequest(ctx, issuer+"/oauth/token", form.Encode())
	Expect(err).NotTo(HaveOccurred())
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}

// tunnel is a raw agent stream to the Hub, as a hostile or buggy agent could drive it.
type tunnel struct {
	conn    *grpc.ClientConn
	stream  tunnelv1.Tunnel_ConnectClient
	welcome *tunnelv1.Welcome
	nextID  uint64
	// received carries every message of the Hub after Welcome; closed when the stream ends.
	received chan *tunnelv1.Envelope
	// ended holds the stream's end, once received is closed.
	ended error
}

// openTunnel dials the Hub with the token, says Hello as agent and waits for Welcome; it returns
// the refusal when the Hub answers otherwise.
func openTunnel(ctx context.Context, tok, agent string, held ...*tunnelv1.RolloutRef) (*tunnel, error) {
	conn, err := grpc.NewClient(hubAddr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)),
		grpc.WithPerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(tok))),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		return nil, err
	}
	streamCtx, cancel := context.WithCancel(context.Background())
	DeferCleanup(func() { cancel(); _ = conn.Close() })
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(streamCtx)
	if err != nil {
		return nil, err
	}
	t := &tunnel{conn: conn, stream: stream, received: make(chan *tunnelv1.Envelope, 1024)}
	if err := t.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{
		AgentIdentifier: agent, AgentVersion: "security-test", Rollouts: held}}}); err != nil {
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	if t.welcome = first.GetWelcome(); t.welcome == nil {
		return nil, fmt.Errorf("the Hub answered Hello with %T", first.GetPayload())
	}
	go func() {
		defer close(t.received)
		for {
			env, err := stream.Recv()
			if err != nil {
				t.ended = err
				return
			}
			t.received <- env
		}
	}()
	go func() { // Heartbeats keep the stream alive.
		ticker := time.NewTicker(time.Duration(t.welcome.GetHeartbeatIntervalMs()) * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				_ = t.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}})
			case <-streamCtx.Done():
				return
			}
		}
	}()
	return t, nil
}

// send sends env with the tunnel's next id.
func (t *tunnel) send(env *tunnelv1.Envelope) error {
	t.nextID++
	env.Id = t.nextID
	env.SentAtUnixNano = time.Now().UnixNano()
	return t.stream.Send(env)
}

// collect reads what the Hub sends for d, acknowledging every apply, and returns the names of the
// Rollouts it applied and the acks it sent the agent.
func (t *tunnel) collect(d time.Duration) (applied []string, acks []*tunnelv1.Ack) {
	deadline := time.After(d)
	for {
		select {
		case env, ok := <-t.received:
			if !ok {
				return applied, acks
			}
			if a := env.GetApplyRollout(); a != nil {
				applied = append(applied, a.GetRef().GetNamespace()+"/"+a.GetRef().GetName())
				_ = t.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{Ack: &tunnelv1.Ack{AckId: env.GetId(), Ok: true}}})
			}
			if a := env.GetAck(); a != nil {
				acks = append(acks, a)
			}
		case <-deadline:
			return applied, acks
		}
	}
}

// newRollout is a cloud Rollout of a tenant labelled for agent.
func newRollout(t tenantRef, name, agent string) *rolloutv1alpha1.Rollout {
	return &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.namespace(),
			Labels: map[string]string{deployv1alpha1.AgentLabel: agent, rolloutv1alpha1.TargetLabel: agent}},
		Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: name, Application: "web", Target: agent, Account: agent, Namespace: "web",
			Manifests: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"},
			Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}}},
	}
}

// tls11 is a client configuration that offers only TLS 1.0 and 1.1.
func tls11() *tls.Config {
	c := clientTLS.Clone()
	c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	return c
}

// isVersionRefusal reports whether a handshake error is a refusal of the protocol version.
func isVersionRefusal(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "protocol version") || strings.Contains(err.Error(), "no supported versions"))
}
