package rna

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of the agent.
const (
	metricTunnelConnected = "aurora_rna_tunnel_connected"
	metricReconnects      = "aurora_rna_tunnel_reconnects_total"
	metricDeadStreams     = "aurora_rna_tunnel_dead_streams_total"
	metricApplies         = "aurora_rna_rollout_applies_total"
	metricDeletes         = "aurora_rna_rollout_deletes_total"
	metricStatusesSent    = "aurora_rna_rollout_statuses_sent_total"
	metricInventoriesSent = "aurora_rna_inventories_sent_total"
	metricRequests        = "aurora_rna_requests_total"
)

// agentMetrics are the agent's Prometheus metrics.
type agentMetrics struct {
	// connected is 1 while the tunnel is connected (the Hub answered Welcome), else 0.
	connected prometheus.Gauge
	// reconnects counts the reconnect attempts, by the reason the previous attempt ended.
	reconnects *prometheus.CounterVec
	// deadStreams counts the streams dropped because the Hub went silent for three heartbeats.
	deadStreams prometheus.Counter
	// applies counts ApplyRollout messages by result: applied, duplicate or failed.
	applies *prometheus.CounterVec
	// deletes counts DeleteRollout messages by result: deleted, absent or failed.
	deletes *prometheus.CounterVec
	// statusesSent counts the RolloutStatus messages sent.
	statusesSent prometheus.Counter
	// inventoriesSent counts the Inventory messages sent.
	inventoriesSent prometheus.Counter
	// requests counts the Hub's Requests by kind (or "unknown") and result: ok or failed.
	requests *prometheus.CounterVec
}

// newAgentMetrics creates the agent's metrics and registers them with reg. A metric that reg
// already holds (registered by an earlier agent in the same process) is reused.
func newAgentMetrics(reg prometheus.Registerer) (*agentMetrics, error) {
	m := &agentMetrics{}
	var err error
	register := func(c prometheus.Collector) prometheus.Collector {
		if err != nil {
			return c
		}
		if regErr := reg.Register(c); regErr != nil {
			if already, ok := errors.AsType[prometheus.AlreadyRegisteredError](regErr); ok {
				return already.ExistingCollector
			}
			err = fmt.Errorf("registering the agent's metrics: %w", regErr)
		}
		return c
	}
	m.connected = register(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: metricTunnelConnected, Help: "1 while the tunnel to the Hub is connected, else 0.",
	})).(prometheus.Gauge)
	m.reconnects = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricReconnects, Help: "Reconnect attempts to the Hub, by how the previous attempt ended.",
	}, []string{"reason"})).(*prometheus.CounterVec)
	m.deadStreams = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: metricDeadStreams, Help: "Streams dropped because nothing arrived from the Hub for three heartbeat intervals.",
	})).(prometheus.Counter)
	m.applies = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricApplies, Help: "ApplyRollout messages handled, by result: applied, duplicate (already held) or failed.",
	}, []string{"result"})).(*prometheus.CounterVec)
	m.deletes = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricDeletes, Help: "DeleteRollout messages handled, by result: deleted, absent or failed.",
	}, []string{"result"})).(*prometheus.CounterVec)
	m.statusesSent = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: metricStatusesSent, Help: "RolloutStatus messages sent to the Hub.",
	})).(prometheus.Counter)
	m.inventoriesSent = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: metricInventoriesSent, Help: "Inventory messages sent to the Hub.",
	})).(prometheus.Counter)
	m.requests = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricRequests, Help: "Requests of the Hub answered, by kind and result: ok or failed.",
	}, []string{"kind", "result"})).(*prometheus.CounterVec)
	if err != nil {
		return nil, err
	}
	return m, nil
}
