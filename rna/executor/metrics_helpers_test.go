package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/rna/executor"
)

// configNamespace is the executor's configuration namespace in the suite: the tenant's secret
// store and metric providers.
const configNamespace = "aurora-rna"

// prometheusBinary is Debian's prometheus package.
const prometheusBinary = "/usr/bin/prometheus"

// tlsServer starts an HTTPS server for handler with a certificate of testCA for 127.0.0.1.
func tlsServer(handler http.Handler) *httptest.Server {
	GinkgoHelper()
	certPEM, keyPEM, err := testCA.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = cfg
	srv.StartTLS()
	DeferCleanup(srv.Close)
	return srv
}

// errorRateExporter serves aurora_test_error_rate{namespace, replica_set, team} for every version
// ReplicaSet of the cluster, at the rate set for its image (0 when none is set): the metric a
// test's Prometheus scrapes and the analysis queries select on.
type errorRateExporter struct {
	mu    sync.Mutex
	rates map[string]float64
}

func (e *errorRateExporter) set(image string, rate float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rates[image] = rate
}

func (e *errorRateExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var list appsv1.ReplicaSetList
	if err := k8sClient.List(r.Context(), &list, client.HasLabels{executor.VersionLabel}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, "# HELP aurora_test_error_rate Share of failed requests.\n# TYPE aurora_test_error_rate gauge\n")
	for _, rs := range list.Items {
		if len(rs.Spec.Template.Spec.Containers) == 0 {
			continue
		}
		rate := e.rates[rs.Spec.Template.Spec.Containers[0].Image]
		_, _ = fmt.Fprintf(w, "aurora_test_error_rate{namespace=%q,replica_set=%q,team=\"potato\"} %g\n", rs.Namespace, rs.Name, rate)
	}
}

// startPrometheus runs Debian's Prometheus over TLS (certificate of testCA) with its own
// configuration and data directory on a free port, scraping the exporter every second over TLS,
// and returns its base URL once it is ready.
func startPrometheus(ctx context.Context, exporter *httptest.Server) string {
	GinkgoHelper()
	_, err := os.Stat(prometheusBinary)
	Expect(err).NotTo(HaveOccurred(), "the analysis tests need Debian's prometheus package: apt-get install -y prometheus")
	dir := GinkgoT().TempDir()
	certPEM, keyPEM, err := testCA.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	files := map[string]string{"ca.crt": string(testCA.CertPEM), "tls.crt": string(certPEM), "tls.key": string(keyPEM),
		"web.yml": "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS12\n",
		"prometheus.yml": fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: app
  scheme: https
  tls_config: {ca_file: ca.crt}
  static_configs: [{targets: [%q]}]
`, strings.TrimPrefix(exporter.URL, "https://"))}
	for name, content := range files {
		Expect(os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)).To(Succeed())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(prometheusBinary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--web.config.file="+filepath.Join(dir, "web.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	base := "https://" + addr
	tlsConfig, err := tlsutil.ClientConfig(testCA.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	Eventually(func(g Gomega) {
		resp, err := c.Get(base + "/-/ready")
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(200*time.Millisecond).Should(Succeed(), func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
		return "Prometheus did not become ready:\n" + string(b)
	})
	// Wait for the first scrape, so that queries have data.
	Eventually(func(g Gomega) {
		resp, err := c.Get(base + "/api/v1/query?query=up")
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close() //nolint:errcheck
		var ans struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		g.Expect(json.NewDecoder(resp.Body).Decode(&ans)).To(Succeed())
		g.Expect(ans.Data.Result).To(HaveLen(1))
		g.Expect(ans.Data.Result[0].Value).To(HaveLen(2))
		g.Expect(ans.Data.Result[0].Value[1]).To(Equal("1"))
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	return base
}

// webhookRequest is one call a receiver got.
type webhookRequest struct {
	Method, Path, Authorization string
	Body                        map[string]string
}

// webhookReceiver records the calls it gets and hands each to onCall (in a goroutine, as a real
// receiver answers later through the callback). It answers 202.
type webhookReceiver struct {
	mu     sync.Mutex
	calls  []webhookRequest
	onCall func(webhookRequest)
}

func (rcv *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer GinkgoRecover()
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "the body is not a JSON object of strings: "+err.Error(), http.StatusBadRequest)
		return
	}
	req := webhookRequest{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body}
	rcv.mu.Lock()
	rcv.calls = append(rcv.calls, req)
	onCall := rcv.onCall
	rcv.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	if onCall != nil {
		go onCall(req)
	}
}

func (rcv *webhookReceiver) received() []webhookRequest {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]webhookRequest(nil), rcv.calls...)
}
