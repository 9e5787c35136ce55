package testcluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// defaultNodes is how many simulated nodes a full cluster gets when Options.Nodes is 0.
const defaultNodes = 3

// simulatedNodeName names the i-th (from 1) simulated node.
func simulatedNodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// simulatedNode returns a Node that kwok manages (by its annotation). kwok fills in its status:
// conditions, addresses and a large allocatable (1k CPUs, 1Ti memory, 1M pods).
func simulatedNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				simulatedNodeAnnotation:        "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
	}
}

// createSimulatedNodes creates n simulated nodes and returns their names. Nodes that exist already
// (a cluster restarted on a persistent data directory) are kept.
func createSimulatedNodes(ctx context.Context, c client.Client, n int) ([]string, error) {
	names := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		node := simulatedNode(simulatedNodeName(i))
		if err := c.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
			return names, fmt.Errorf("create node %s: %w", node.Name, err)
		}
		names = append(names, node.Name)
	}
	return names, nil
}

// isNodeReady reports whether a node's Ready condition is True.
func isNodeReady(node *corev1.Node) bool {
	for _, condition := range node.Status.Conditions {
		if condition.Type == corev1.NodeReady {
			return condition.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitForFullClusterReady waits until every named node is Ready (kwok works) and the default
// ServiceAccount exists (kube-controller-manager runs its controllers), failing early, with the end of
// its log, when one of the processes exits.
func waitForFullClusterReady(ctx context.Context, c client.Client, nodeNames []string, processes []*childProcess) error {
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, startTimeout(ctx), true, func(ctx context.Context) (bool, error) {
		if err := firstExitError(processes); err != nil {
			return false, err
		}
		var nodes corev1.NodeList
		if err := c.List(ctx, &nodes); err != nil {
			notReady = []string{fmt.Sprintf("(list nodes: %v)", err)}
			return false, nil
		}
		notReady = slices.Clone(nodeNames)
		for i := range nodes.Items {
			if isNodeReady(&nodes.Items[i]) {
				notReady = slices.DeleteFunc(notReady, func(name string) bool { return name == nodes.Items[i].Name })
			}
		}
		if len(notReady) > 0 {
			return false, nil
		}
		key := types.NamespacedName{Namespace: metav1.NamespaceDefault, Name: "default"}
		if err := c.Get(ctx, key, &corev1.ServiceAccount{}); err != nil {
			notReady = []string{"(no default ServiceAccount yet: kube-controller-manager not running its controllers)"}
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		if exitErr := firstExitError(processes); exitErr != nil {
			return exitErr
		}
		return fmt.Errorf("wait for the full cluster: not ready: %s: %w", strings.Join(notReady, ", "), err)
	}
	return nil
}
