package tunnel_test

import (
	"context"
	"net"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/rna"
)

// startHub runs a Hub on hubAddr until the returned stop is called.
func startHub(ctx context.Context) (stop func()) {
	GinkgoHelper()
	srv, err := hub.New(hub.Options{Cloud: cloud.Config, Verifier: verifier, TLS: serverTLS, Replica: "hub-test",
		HeartbeatInterval: heartbeat, StatusWriteInterval: time.Second, Registerer: prometheus.NewRegistry()})
	Expect(err).NotTo(HaveOccurred())
	var l net.Listener
	Eventually(func() (err error) { l, err = net.Listen("tcp", hubAddr); return err }).WithContext(ctx).Should(Succeed())
	return startInBackground(func(ctx context.Context) error { return srv.Serve(ctx, l) })
}

// agentCredentials creates a MachineCredential in namespace and returns its client id and secret.
func agentCredentials(ctx context.Context, namespace, name string, scopes []iamv1alpha1.Scope, mutate ...func(*iamv1alpha1.MachineCredential)) (id, secret string) {
	GinkgoHelper()
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: scopes}}
	for _, m := range mutate {
		m(mc)
	}
	Expect(cloudClient.Create(ctx, mc)).To(Succeed())
	// The controller writes the Secret before the hash that verifies it: wait for the hash (Ready).
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(mc.Status.SecretHashes).NotTo(BeEmpty())
	}).WithContext(ctx).Should(Succeed())
	s := &corev1.Secret{}
	Expect(cloudClient.Get(ctx, objectKey(namespace, machinecredential.SecretName(name)), s)).To(Succeed())
	return string(s.Data[machinecredential.ClientIDKey]), string(s.Data[machinecredential.ClientSecretKey])
}

// tokenFor gets a token with the client-credentials grant, for the given scopes (default the
// agent's).
func tokenFor(ctx context.Context, id, secret string, scopes ...string) string {
	GinkgoHelper()
	src, err := rna.ClientCredentialsTokenSource(ctx, rna.ClientCredentials{ClientID: id, ClientSecret: secret,
		TokenURL: issuer + "/oauth/token", TLS: clientTLS, Scopes: scopes})
	Expect(err).NotTo(HaveOccurred())
	tok, err := src(ctx)
	Expect(err).NotTo(HaveOccurred())
	return tok
}

// runningAgent is an RNA started by a test.
type runningAgent struct {
	agent *rna.Agent
	stop  func()
}

// startAgent runs an RNA for the target cluster, dialling the Hub through the proxy.
func startAgent(ctx context.Context, id, secret string) *runningAgent {
	GinkgoHelper()
	src, err := rna.ClientCredentialsTokenSource(context.Background(), rna.ClientCredentials{ClientID: id, ClientSecret: secret,
		TokenURL: issuer + "/oauth/token", TLS: clientTLS})
	Expect(err).NotTo(HaveOccurred())
	a, err := rna.New(rna.Options{HubAddress: proxy.Addr(), TLS: clientTLS, TokenSource: src, AgentIdentifier: agentID,
		AgentVersion: "test", Target: target.Config, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
		DialTimeout: 3 * time.Second, SendTimeout: 3 * time.Second, InventoryInterval: 2 * time.Second})
	Expect(err).NotTo(HaveOccurred())
	return &runningAgent{agent: a, stop: startInBackground(a.Run)}
}

// cloudRollout is a Rollout of the tenant meant for the agent.
func cloudRollout(name, appNamespace string, weights ...int32) *rolloutv1alpha1.Rollout {
	steps := []deployv1alpha1.CanaryStep{}
	for _, w := range weights {
		steps = append(steps, deployv1alpha1.CanaryStep{SetWeight: &deployv1alpha1.SetWeightStep{Weight: w}})
	}
	return &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tenantNamespace, Labels: map[string]string{deployv1alpha1.AgentLabel: agentID}},
		Spec: rolloutv1alpha1.RolloutSpec{
			DeploymentName: name, Application: "potato-facts", Target: "staging", Account: agentID, Namespace: appNamespace,
			Manifests: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"},
			Strategy:  deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: steps}},
		},
	}
}

// updateCloud changes a cloud Rollout's spec, retrying on conflicts with the Hub's status writes.
func updateCloud(ctx context.Context, ro *rolloutv1alpha1.Rollout, mutate func(*rolloutv1alpha1.Rollout)) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
			return err
		}
		mutate(ro)
		return cloudClient.Update(ctx, ro)
	})).To(Succeed())
}

// mirrored returns the Rollout the agent mirrored for the cloud Rollout, or an error.
func mirrored(ctx context.Context, cloudRO *rolloutv1alpha1.Rollout) (*rolloutv1alpha1.Rollout, error) {
	list := &rolloutv1alpha1.RolloutList{}
	if err := targetClient.List(ctx, list, client.HasLabels{rolloutv1alpha1.MirroredLabel}); err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].Annotations[rolloutv1alpha1.CloudUIDAnnotation] == string(cloudRO.UID) {
			return &list.Items[i], nil
		}
	}
	return nil, errNotMirrored
}

type notMirrored struct{}

func (notMirrored) Error() string { return "not mirrored into the target cluster" }

var errNotMirrored error = notMirrored{}

// expectMirroredAt waits until the target holds the cloud Rollout at its current generation.
func expectMirroredAt(ctx context.Context, ro *rolloutv1alpha1.Rollout) *rolloutv1alpha1.Rollout {
	GinkgoHelper()
	var got *rolloutv1alpha1.Rollout
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		var err error
		got, err = mirrored(ctx, ro)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got.Annotations[rolloutv1alpha1.CloudGenerationAnnotation]).To(Equal(strconv.FormatInt(ro.Generation, 10)))
		g.Expect(got.Spec).To(Equal(ro.Spec))
	}).WithContext(ctx).WithTimeout(20 * time.Second).Should(Succeed())
	return got
}

// expectGone waits until the target no longer holds the cloud Rollout.
func expectGone(ctx context.Context, ro *rolloutv1alpha1.Rollout) {
	GinkgoHelper()
	Eventually(func() error {
		_, err := mirrored(ctx, ro)
		return err
	}).WithContext(ctx).WithTimeout(20 * time.Second).Should(MatchError(errNotMirrored))
}

// agentObject reads the tenant's Agent object.
func agentObject(ctx context.Context) (*deployv1alpha1.Agent, error) {
	a := &deployv1alpha1.Agent{}
	return a, cloudClient.Get(ctx, objectKey(tenantNamespace, agentID), a)
}
