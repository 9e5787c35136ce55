package testcluster

import (
	"path/filepath"
)

// componentsUserName is the user kube-controller-manager, kube-scheduler and kwok authenticate as.
const componentsUserName = "components"

// simulatedNodeAnnotation marks the nodes kwok manages; StartFull's nodes carry it with value "fake".
const simulatedNodeAnnotation = "kwok.x-k8s.io/node"

// component is a binary a full cluster runs as a child process, with its flags.
type component struct {
	name string
	args []string
}

// fullClusterComponents returns the components a full cluster runs beside the control plane, in start
// order: kube-controller-manager (ReplicaSets, pods, node lifecycle, service accounts, ...),
// kube-scheduler (binds pods to nodes; kwok acts only on bound pods) and kwok (plays the kubelet of
// every node annotated kwok.x-k8s.io/node=fake, from the Stage files in stagesDir).
func fullClusterComponents(kubeconfig, serviceAccountKey, stagesDir string) []component {
	kwokArgs := []string{
		"--kubeconfig=" + kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + simulatedNodeAnnotation + "=fake",
		"--node-lease-duration-seconds=40",
		"--cidr=10.244.0.0/16",
		"--node-ip=10.1.0.1",
		"--v=WARN",
	}
	for _, stage := range kwokStageFiles {
		kwokArgs = append(kwokArgs, "--config="+filepath.Join(stagesDir, stage))
	}
	return []component{
		{name: controllerManagerBinary, args: []string{
			"--kubeconfig=" + kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=0", // no serving port: nothing to collide between clusters
			"--leader-elect=false",
			"--controllers=*",
			"--use-service-account-credentials=false",
			"--service-account-private-key-file=" + serviceAccountKey,
			"--kube-api-qps=1000",
			"--kube-api-burst=1000",
		}},
		{name: schedulerBinary, args: []string{
			"--kubeconfig=" + kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
			"--kube-api-qps=1000",
			"--kube-api-burst=1000",
		}},
		{name: kwokBinary, args: kwokArgs},
	}
}

// startComponents starts the components in order, logging to dir/logs/<name>.log. It returns the
// processes it started, also on error, so that the caller stops them.
func startComponents(dir, binDir string, components []component) ([]*childProcess, error) {
	var started []*childProcess
	for _, c := range components {
		logPath := filepath.Join(dir, "logs", c.name+".log")
		p, err := startChildProcess(dir, c.name, filepath.Join(binDir, c.name), c.args, logPath)
		if p != nil {
			started = append(started, p)
		}
		if err != nil {
			return started, err // names the component already
		}
	}
	return started, nil
}
