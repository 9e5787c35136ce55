package testcluster

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("restarting the API server", func() {
	It("keeps the address, the credentials and every object, and Stop leaves no process behind", func(ctx SpecContext) {
		cluster, err := StartAPI(ctx, Options{Name: "restarted"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cluster.Stop)
		before := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "before"}, Data: map[string]string{"a": "1"}}
		Expect(cluster.Client.Create(ctx, before)).To(Succeed())
		oldPID := apiServerPID(cluster)

		began := time.Now()
		Expect(cluster.RestartAPIServer(ctx)).To(Succeed())
		reportDuration("API server restart", time.Since(began))
		newPID := apiServerPID(cluster)
		Expect(newPID).NotTo(Equal(oldPID))
		Expect(isRunning(oldPID)).To(BeFalse(), "the old kube-apiserver is gone")

		By("the same client reads what was there and writes anew")
		read := &corev1.ConfigMap{}
		Expect(cluster.Client.Get(ctx, client.ObjectKeyFromObject(before), read)).To(Succeed())
		Expect(read.Data).To(Equal(map[string]string{"a": "1"}))
		Expect(cluster.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "after"}})).To(Succeed())
		Expect(cluster.CheckRunning()).To(Succeed())
		Consistently(func() error {
			return cluster.Client.Get(ctx, client.ObjectKeyFromObject(before), read)
		}).WithContext(ctx).WithTimeout(10*time.Second).WithPolling(time.Second).Should(Succeed(), "the restarted API server keeps serving")

		processes := cluster.Processes()
		Expect(cluster.Stop()).To(Succeed())
		for _, p := range processes {
			Expect(isRunning(p.PID)).To(BeFalse(), "%s (pid %d) still runs after Stop", p.Component, p.PID)
		}
	}, SpecTimeout(5*time.Minute))
})

// apiServerPID is the pid of the cluster's kube-apiserver.
func apiServerPID(c *Cluster) int {
	GinkgoHelper()
	for _, p := range c.Processes() {
		if p.Component == apiServerBinary {
			return p.PID
		}
	}
	Fail("no kube-apiserver process")
	return 0
}
