package hub

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metricsNamespace prefixes every metric of the Hub.
const metricsNamespace = "aurora_hub"

// metrics are the Hub's Prometheus metrics.
type metrics struct {
	sessionsOpen    prometheus.Gauge
	connects        prometheus.Counter
	disconnects     *prometheus.CounterVec
	refusals        *prometheus.CounterVec
	sendQueueDrops  prometheus.Counter
	agentWrites     *prometheus.CounterVec
	previewRequests *prometheus.CounterVec
	sent            map[string]prometheus.Counter
	received        map[string]prometheus.Counter
}

// newMetrics creates the Hub's metrics and registers them with reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "sessions_open",
			Help: "Agent tunnels open on this Hub replica."}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "connects_total",
			Help: "Agent tunnels accepted (Hello checked, Welcome sent)."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "disconnects_total",
			Help: "Agent tunnels ended, by reason."}, []string{"reason"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "refused_connects_total",
			Help: "Tunnels refused after authentication, by gRPC code (a missing or invalid token is refused earlier, by the interceptor)."},
			[]string{"code"}),
		sendQueueDrops: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "send_queue_drops_total",
			Help: "Sessions dropped because their send queue stayed full, or a send stayed blocked, past the send timeout."}),
		agentWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "agent_status_writes_total",
			Help: "Writes of Agent status, by kind (connection, heartbeat) and result (ok, error)."}, []string{"kind", "result"}),
		previewRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "preview_requests_total",
			Help: "Requests of preview links, by result (proxied, forwarded, expired, refused, unavailable)."}, []string{"result"}),
	}
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "messages_sent_total",
		Help: "Envelopes sent to agents, by payload type."}, []string{"type"})
	received := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "messages_received_total",
		Help: "Envelopes received from agents, by payload type."}, []string{"type"})
	m.sent = make(map[string]prometheus.Counter, len(payloadNames))
	m.received = make(map[string]prometheus.Counter, len(payloadNames))
	for _, name := range payloadNames {
		m.sent[name] = sent.WithLabelValues(name)
		m.received[name] = received.WithLabelValues(name)
	}
	for _, c := range []prometheus.Collector{m.sessionsOpen, m.connects, m.disconnects, m.refusals, m.sendQueueDrops,
		m.agentWrites, m.previewRequests, sent, received} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the hub's metrics: %w", err)
		}
	}
	return m, nil
}

// messageSent counts one Envelope sent, by payload name.
func (m *metrics) messageSent(payload string) { m.sent[payload].Inc() }

// messageReceived counts one Envelope received, by payload name.
func (m *metrics) messageReceived(payload string) { m.received[payload].Inc() }

// agentWrite counts one Agent status write of kind.
func (m *metrics) agentWrite(kind string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.agentWrites.WithLabelValues(kind, result).Inc()
}
