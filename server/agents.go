package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// ConnectedAgent is an entry of GET /identity/connected-agents.
type ConnectedAgent struct {
	AgentIdentifier        string `json:"agentIdentifier"`
	AgentInstanceUUID      string `json:"agentInstanceUuid"`
	AgentVersion           string `json:"agentVersion"`
	ClientID               string `json:"clientId"`
	ConnectedAtIso8601     string `json:"connectedAtIso8601"`
	LastHeartbeatAtIso8601 string `json:"lastHeartbeatAtIso8601"`
	EnvID                  string `json:"envId"`
	OrgID                  string `json:"orgId"`
	HubInstanceUUID        string `json:"hubInstanceUuid"`
	Connected              bool   `json:"connected"`
	KubernetesVersion      string `json:"kubernetesVersion,omitempty"`
}

// ConnectedAgentOf is the API's view of an Agent of the tenant.
func ConnectedAgentOf(a *deployv1alpha1.Agent, organization, environment string) ConnectedAgent {
	return ConnectedAgent{
		AgentIdentifier: a.Spec.AgentIdentifier, AgentInstanceUUID: string(a.UID), AgentVersion: a.Status.AgentVersion,
		ClientID: a.Status.ClientID, ConnectedAtIso8601: iso(a.Status.ConnectedAt), LastHeartbeatAtIso8601: iso(a.Status.LastHeartbeatAt),
		EnvID: environment, OrgID: organization, HubInstanceUUID: a.Status.HubReplica, Connected: a.Status.Connected,
		KubernetesVersion: a.Status.KubernetesVersion,
	}
}

// connectedAgents is GET /identity/connected-agents: the tenant's Agents, by identifier.
func (s *Server) connectedAgents(w http.ResponseWriter, r *http.Request, c *caller) error {
	agents, err := s.agents(r.Context(), c)
	if err != nil {
		return err
	}
	out := make([]ConnectedAgent, 0, len(agents))
	for i := range agents {
		out = append(out, ConnectedAgentOf(&agents[i], c.Organization, c.Environment))
	}
	slices.SortFunc(out, func(a, b ConnectedAgent) int { return strings.Compare(a.AgentIdentifier, b.AgentIdentifier) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) agents(ctx context.Context, c *caller) ([]deployv1alpha1.Agent, error) {
	list := &deployv1alpha1.AgentList{}
	if err := s.opts.Client.List(ctx, list, client.InNamespace(c.namespace)); err != nil {
		return nil, fmt.Errorf("listing Agents in %s: %w", c.namespace, err)
	}
	return list.Items, nil
}

// InventoryKinds are the {kind}s of /infrastructure/agents/{agentIdentifier}/{kind}.
var InventoryKinds = []string{"namespaces", "workloads", "deployments", "statefulsets", "daemonsets", "replicasets"}

// workloadKinds maps a workload {kind} to the Kubernetes kind the inventory names.
var workloadKinds = map[string]string{"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet", "replicasets": "ReplicaSet"}

// InfrastructureAnswer is the answer of /infrastructure/agents/{agentIdentifier}/{kind}.
type InfrastructureAnswer struct {
	AgentIdentifier   string `json:"agentIdentifier"`
	Kind              string `json:"kind"`
	ObservedAtIso8601 string `json:"observedAtIso8601"`
	ReceivedAtIso8601 string `json:"receivedAtIso8601"`
	Items             []any  `json:"items"`
}

// InventoryWorkload is one workload of an agent's cluster.
type InventoryWorkload struct {
	Kind            string   `json:"kind"`
	Namespace       string   `json:"namespace"`
	Name            string   `json:"name"`
	Replicas        int32    `json:"replicas"`
	ReadyReplicas   int32    `json:"readyReplicas"`
	UpdatedReplicas int32    `json:"updatedReplicas"`
	Images          []string `json:"images"`
	Ready           bool     `json:"ready"`
}

// InventoryNamespace is one namespace of an agent's cluster.
type InventoryNamespace struct {
	Name string `json:"name"`
}

// InventoryItems selects the items of kind from an inventory.
func InventoryItems(inv *tunnelv1.Inventory, kind string) []any {
	items := []any{}
	if kind == "namespaces" {
		for _, ns := range inv.GetNamespaces() {
			items = append(items, InventoryNamespace{Name: ns})
		}
		return items
	}
	for _, wl := range inv.GetWorkloads() {
		if want, ok := workloadKinds[kind]; ok && wl.GetKind() != want {
			continue
		}
		items = append(items, InventoryWorkload{Kind: wl.GetKind(), Namespace: wl.GetNamespace(), Name: wl.GetName(), Replicas: wl.GetReplicas(),
			ReadyReplicas: wl.GetReadyReplicas(), UpdatedReplicas: wl.GetUpdatedReplicas(), Images: orEmpty(wl.GetImages()), Ready: wl.GetReady()})
	}
	return items
}

// infrastructure is GET /infrastructure/agents/{agentIdentifier}/{kind}: the Hub's inventory cache
// of one agent of the tenant.
func (s *Server) infrastructure(w http.ResponseWriter, r *http.Request, c *caller) error {
	agent, kind := r.PathValue("agentIdentifier"), r.PathValue("kind")
	if !slices.Contains(InventoryKinds, kind) {
		return notFound("unknown inventory kind %q; expected one of %s", kind, strings.Join(InventoryKinds, ", "))
	}
	agents, err := s.agents(r.Context(), c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(agents, func(a deployv1alpha1.Agent) bool { return a.Spec.AgentIdentifier == agent }) {
		return notFound("agent %q is not registered in this tenant", agent)
	}
	if s.opts.Inventory == nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "this API server is not connected to the Agent Hub (--hub-address)")
	}
	ctx, cancel := context.WithTimeout(r.Context(), DefaultInventoryTimeout)
	defer cancel()
	inv, receivedAt, err := s.opts.Inventory.Inventory(ctx, c.token, agent)
	switch {
	case errors.Is(err, ErrNoInventory):
		return notFound("the Agent Hub holds no inventory of agent %q yet", agent)
	case err != nil:
		s.opts.Log.Error(err, "Querying the Hub's inventory failed", "agent", agent, "namespace", c.namespace)
		return newError(http.StatusBadGateway, CodeUnavailable, "the Agent Hub did not answer the inventory query")
	}
	observed := ""
	if ns := inv.GetObservedAtUnixNano(); ns > 0 {
		observed = time.Unix(0, ns).UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, InfrastructureAnswer{AgentIdentifier: agent, Kind: kind, ObservedAtIso8601: observed,
		ReceivedAtIso8601: receivedAt.UTC().Format(time.RFC3339), Items: InventoryItems(inv, kind)})
	return nil
}
