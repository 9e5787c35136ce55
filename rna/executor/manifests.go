package executor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Workload is one apps/v1 Deployment of a Rollout's manifests: the executor runs it as one managed
// ReplicaSet per version.
type Workload struct {
	// Name is the Deployment's name.
	Name string
	// Deployment is the manifest, its namespace forced to the Rollout's.
	Deployment *appsv1.Deployment
	// HPA is a HorizontalPodAutoscaler of the manifests that targets this Deployment. It is applied
	// after success, retargeted at the version that then runs.
	HPA *unstructured.Unstructured
}

// Replicas is the manifest's replica count (1 when it sets none).
func (w Workload) Replicas() int32 {
	if w.Deployment.Spec.Replicas == nil {
		return 1
	}
	return *w.Deployment.Spec.Replicas
}

// Manifests are a Rollout's manifests, sorted for the executor.
type Manifests struct {
	// Workloads are the apps/v1 Deployments, by name.
	Workloads []Workload
	// Objects are every other object, in manifest order, server-side applied before the first
	// version's pods are created. Their namespace is set by the applier (cluster-scoped kinds keep
	// none).
	Objects []*unstructured.Unstructured
}

// RefusedError is a manifest the executor does not run (a bare ReplicaSet or Pod, a Deployment of
// another API version, a document that is not an object). A Rollout with one ends Failed before
// anything is applied.
type RefusedError struct {
	// Where names the manifest and document, such as "manifests[0] document 2".
	Where string
	// Reason says why.
	Reason string
}

// Error says where the refused manifest is and why.
func (e *RefusedError) Error() string { return e.Where + ": " + e.Reason }

// ParseManifests decodes the YAML (or JSON) documents of each manifest into workloads and other
// objects, forcing the namespace of workloads to namespace. A v1 List is expanded into its items.
func ParseManifests(manifests []string, namespace string) (*Manifests, error) {
	var objects []*unstructured.Unstructured
	var where []string
	for i, m := range manifests {
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(m)), 4096)
		for doc := 1; ; doc++ {
			var raw map[string]any
			err := decoder.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			loc := fmt.Sprintf("manifests[%d] document %d", i, doc)
			if err != nil {
				return nil, &RefusedError{Where: loc, Reason: fmt.Sprintf("not valid YAML: %v", err)}
			}
			if len(raw) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: raw}
			if u.IsList() {
				list, err := u.ToList()
				if err != nil {
					return nil, &RefusedError{Where: loc, Reason: fmt.Sprintf("not a valid list: %v", err)}
				}
				for j := range list.Items {
					objects = append(objects, &list.Items[j])
					where = append(where, fmt.Sprintf("%s item %d", loc, j))
				}
				continue
			}
			objects = append(objects, u)
			where = append(where, loc)
		}
	}

	out := &Manifests{}
	for i, u := range objects {
		if err := checkObject(u); err != nil {
			return nil, &RefusedError{Where: where[i], Reason: err.Error()}
		}
		gvk := u.GroupVersionKind()
		if gvk.Group == "apps" && gvk.Kind == "Deployment" {
			w, err := workloadOf(u, namespace)
			if err != nil {
				return nil, &RefusedError{Where: where[i], Reason: err.Error()}
			}
			if slices.ContainsFunc(out.Workloads, func(o Workload) bool { return o.Name == w.Name }) {
				return nil, &RefusedError{Where: where[i], Reason: fmt.Sprintf("Deployment %s appears twice", w.Name)}
			}
			out.Workloads = append(out.Workloads, w)
			continue
		}
		out.Objects = append(out.Objects, u)
	}
	slices.SortFunc(out.Workloads, func(a, b Workload) int { return strings.Compare(a.Name, b.Name) })

	// HorizontalPodAutoscalers that target a workload wait for the end of the Rollout.
	kept := out.Objects[:0]
	for _, u := range out.Objects {
		if u.GroupVersionKind().Group == "autoscaling" && u.GetKind() == "HorizontalPodAutoscaler" {
			if i := slices.IndexFunc(out.Workloads, func(w Workload) bool { return targetsDeployment(u, w.Name) }); i >= 0 {
				out.Workloads[i].HPA = u
				continue
			}
		}
		kept = append(kept, u)
	}
	out.Objects = kept
	return out, nil
}

// checkObject refuses what the executor does not deploy: objects without kind, apiVersion or name,
// bare ReplicaSets and Pods, and Deployments of apps versions other than v1.
func checkObject(u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Kind == "" || gvk.Version == "":
		return errors.New("the object has no apiVersion or kind")
	case u.GetName() == "":
		return fmt.Errorf("the %s has no metadata.name (generateName is not supported)", gvk.Kind)
	case gvk.Kind == "ReplicaSet" && (gvk.Group == "apps" || gvk.Group == "extensions"):
		return fmt.Errorf("ReplicaSet %s: bare ReplicaSets are not supported: deploy an apps/v1 Deployment", u.GetName())
	case gvk.Kind == "Pod" && gvk.Group == "":
		return fmt.Errorf("Pod %s: bare Pods are not supported: deploy an apps/v1 Deployment", u.GetName())
	case gvk.Kind == "Deployment" && (gvk.Group == "extensions" || (gvk.Group == "apps" && gvk.Version != "v1")):
		return fmt.Errorf("Deployment %s has apiVersion %s: only apps/v1 Deployments are supported", u.GetName(), u.GetAPIVersion())
	}
	return nil
}

// workloadOf converts an apps/v1 Deployment manifest and checks what the executor relies on.
func workloadOf(u *unstructured.Unstructured, namespace string) (Workload, error) {
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
		return Workload{}, fmt.Errorf("Deployment %s is not valid: %w", u.GetName(), err)
	}
	if msgs := validation.IsDNS1123Subdomain(d.Name); len(msgs) > 0 {
		return Workload{}, fmt.Errorf("Deployment name %q is not valid: %s", d.Name, strings.Join(msgs, "; "))
	}
	if d.Spec.Selector == nil {
		return Workload{}, fmt.Errorf("Deployment %s has no spec.selector", d.Name)
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return Workload{}, fmt.Errorf("Deployment %s: spec.selector is not valid: %w", d.Name, err)
	}
	if selector.Empty() || !selector.Matches(labels.Set(d.Spec.Template.Labels)) {
		return Workload{}, fmt.Errorf("Deployment %s: spec.selector does not select the labels of spec.template", d.Name)
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		return Workload{}, fmt.Errorf("Deployment %s: spec.replicas is negative", d.Name)
	}
	d.Namespace = namespace
	return Workload{Name: d.Name, Deployment: d}, nil
}

// targetsDeployment reports whether an HPA (autoscaling v1 or v2) scales the apps/v1 Deployment name.
func targetsDeployment(hpa *unstructured.Unstructured, name string) bool {
	ref, _, _ := unstructured.NestedStringMap(hpa.Object, "spec", "scaleTargetRef")
	return ref["kind"] == "Deployment" && ref["name"] == name && strings.HasPrefix(ref["apiVersion"], "apps/")
}
