package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

var _ = Describe("Preview links of an exposeServices step", func() {
	// Pods under kwok run nothing, so the Service's backend is an HTTP server of the test: the
	// Service has no selector and an EndpointSlice points at the server; the agent dials the
	// Service's endpoints, as kube-proxy would route its cluster IP.
	It("serve the Service through the tunnel for their TTL, listed in the Rollout and Deployment status", func(ctx SpecContext) {
		const application = "preview-app"
		v1 := deployment("preview-v1", application, app(application, "v1", 2, false), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		exposeBackend(ctx, "staging", application, "preview-web")

		strategy := canary(50, "pause", 100)
		steps := strategy.Canary.Steps
		expose := deployv1alpha1.CanaryStep{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{"preview-web"},
			TTL: &deployv1alpha1.Timeout{Duration: 1, Unit: deployv1alpha1.Minutes}}}
		strategy.Canary.Steps = append([]deployv1alpha1.CanaryStep{steps[0], expose}, steps[1:]...)
		v2 := deployment("preview-v2", application, app(application, "v2", 2, false), strategy, "staging")
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "staging", "steps[2]")

		var link deployv1alpha1.PreviewLink
		Eventually(func(g Gomega) {
			g.Expect(env.CloudClient.Get(ctx, client.ObjectKeyFromObject(v2), v2)).To(Succeed())
			previews := targetStatus(v2, "staging").Previews
			g.Expect(previews).To(HaveLen(1))
			g.Expect(previews[0].URL).NotTo(BeEmpty())
			link = previews[0]
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(link.Service).To(Equal("preview-web"))
		Expect(link.Step).To(Equal("steps[1]"))
		Expect(link.URL).To(HavePrefix(env.PreviewURL + "/preview/"))
		Expect(link.ExpiresAt.Time).To(BeTemporally("~", time.Now().Add(time.Minute), 30*time.Second))
		Expect(deployv1alpha1.PreviewURLs(targetStatus(v2, "staging").Previews)).To(HaveKeyWithValue("preview-web", link.URL),
			"the value of {{armory.preview.preview-web}}")
		ro := &rolloutv1alpha1.Rollout{}
		Expect(env.CloudClient.Get(ctx, client.ObjectKey{Namespace: env.TenantNamespace, Name: targetStatus(v2, "staging").RolloutName}, ro)).To(Succeed())
		Expect(ro.Status.Previews).To(ConsistOf(link))

		Expect(fetch(ctx, link.URL+"facts?n=3")).To(Equal(answer{200, "preview-web says /facts?n=3"}))
		token := strings.TrimSuffix(strings.TrimPrefix(link.URL, env.PreviewURL+"/preview/"), "/")
		forged := strings.Replace(token, ".", ".x", 1)
		Expect(fetch(ctx, env.PreviewURL+"/preview/"+forged+"/facts").code).To(Equal(http.StatusForbidden))

		By("the link stops at the end of its TTL")
		Eventually(func() int { return fetch(ctx, link.URL+"facts").code }).WithContext(ctx).
			WithTimeout(time.Until(link.ExpiresAt.Time) + 15*time.Second).WithPolling(time.Second).Should(Equal(http.StatusGone))

		judge(ctx, v2, "staging", "steps[2]", deployv1alpha1.DecisionApprove)
		waitState(ctx, v2, deployv1alpha1.StateSucceeded, 2*time.Minute)
	})
})

// exposeBackend serves an HTTP backend in the test and makes it the endpoint of a selector-less
// Service of the target cluster.
func exposeBackend(ctx context.Context, target, namespace, service string) {
	GinkgoHelper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "%s says %s", service, r.URL.RequestURI())
	}))
	ip := hostAddress()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	Expect(err).NotTo(HaveOccurred())
	srv.Listener = l
	srv.Start()
	DeferCleanup(srv.Close)
	port, err := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	Expect(err).NotTo(HaveOccurred())
	c := env.Targets[target].Client
	Expect(c.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: service},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(int32(port))}}}})).To(Succeed())
	Expect(c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: service + "-test", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	})).To(Succeed())
}

// answer is a status code and body.
type answer struct {
	code int
	body string
}

// fetch GETs url with a client that trusts the environment's CA.
func fetch(ctx context.Context, url string) answer {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := env.HTTPClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return answer{resp.StatusCode, string(body)}
}

// hostAddress returns a non-loopback IPv4 address of this machine: an EndpointSlice may not point at
// a loopback address.
func hostAddress() string {
	GinkgoHelper()
	addrs, err := net.InterfaceAddrs()
	Expect(err).NotTo(HaveOccurred())
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	Fail("this machine has no non-loopback IPv4 address for an EndpointSlice to point at")
	return ""
}
