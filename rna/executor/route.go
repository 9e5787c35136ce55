package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// trafficPass is what a pass routes: the share of the new version and whether it becomes the
// stable one.
type trafficPass struct {
	// weight is the new version's share of traffic, in percent.
	weight int32
	// final is true when the new version becomes the stable one: what selected the stable version
	// selects the new one.
	final bool
	// first is true for a first deployment: nothing stable to route to.
	first bool
	// record is true while a new version is still to be created: the Services' selectors are then
	// kept (Selectors of WorkloadState) for a rollback to restore.
	record bool
}

// routeTraffic points the execution's Services, TrafficSplits, VirtualServices and
// DestinationRules at the versions the pass wants. Services are switched by a server-side apply
// of their selector alone; Services already right are not written.
func (x *execution) routeTraffic(ctx context.Context, objs []*workloadObjects, p trafficPass) error {
	cfg := x.traffic
	if cfg.IsZero() {
		return nil
	}
	stables := stablesOf(objs)
	stable := stables.labels
	for _, name := range cfg.Active {
		svc, i, err := x.serviceOf(ctx, name, "activeService", p.record)
		if err != nil {
			return err
		}
		switch {
		case p.final || p.weight == 100:
			err = x.pinService(ctx, svc, PinnedSelector(svc.Spec.Selector, x.versions[i]))
		case stable[i] != "":
			err = x.pinService(ctx, svc, PinnedSelector(svc.Spec.Selector, stable[i]))
		}
		if err != nil {
			return err
		}
	}
	for _, name := range cfg.Preview {
		svc, i, err := x.serviceOf(ctx, name, "previewService", p.record)
		if err != nil {
			return err
		}
		if err := x.pinService(ctx, svc, PinnedSelector(svc.Spec.Selector, x.versions[i])); err != nil {
			return err
		}
	}
	if p.first && !p.final {
		return nil // a first deployment: nothing to split until the new version is the stable one
	}
	for _, s := range cfg.SMI {
		if err := x.routeSMI(ctx, s, stables, p); err != nil {
			return err
		}
	}
	for _, is := range cfg.Istio {
		if err := x.routeIstio(ctx, is, stables, p); err != nil {
			return err
		}
	}
	return nil
}

// routeSMI pins the root Service to the stable version (the new one when final), makes or pins the
// canary Service to the new version, and sets the TrafficSplit's weights.
func (x *execution) routeSMI(ctx context.Context, s deployv1alpha1.SMITrafficManagement, stable stableVersions, p trafficPass) error {
	root, i, err := x.serviceOf(ctx, s.RootServiceName, "smi rootServiceName", p.record)
	if err != nil {
		return err
	}
	rootVersion := x.versions[i]
	if !p.final {
		if rootVersion = stable.labels[i]; rootVersion == "" {
			return unroutable(stable.refs[i], "smi")
		}
	}
	canaryName := CanaryServiceName(s)
	canary := &corev1.Service{}
	switch err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: canaryName}, canary); {
	case apierrors.IsNotFound(err):
		svc := CanaryServiceFor(root, canaryName, x.versions[i])
		if err := x.r.Client.Create(ctx, svc, client.FieldOwner(TrafficFieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
			return &ApplyError{What: "Service " + canaryName, Err: err}
		}
		x.log.Info("Created the canary Service of a traffic split", "service", canaryName, "root", root.Name)
	case err != nil:
		return fmt.Errorf("reading Service %s: %w", canaryName, err)
	default:
		if err := x.pinService(ctx, canary, PinnedSelector(root.Spec.Selector, x.versions[i])); err != nil {
			return err
		}
	}
	rootWant := PinnedSelector(root.Spec.Selector, rootVersion)
	if p.final && !equality.Semantic.DeepEqual(root.Spec.Selector, rootWant) {
		// All traffic to the canary Service first, so that none goes through the root Service
		// while it switches.
		if err := x.setTrafficSplit(ctx, s, 100, false); err != nil {
			return err
		}
	}
	if err := x.pinService(ctx, root, rootWant); err != nil {
		return err
	}
	weight := p.weight
	if p.final {
		weight = 0 // the root Service selects the new version now
	}
	return x.setTrafficSplit(ctx, s, weight, false)
}

// setTrafficSplit applies an SMI block's TrafficSplit at weight; onlyIfPresent leaves a missing one
// missing.
func (x *execution) setTrafficSplit(ctx context.Context, s deployv1alpha1.SMITrafficManagement, weight int32, onlyIfPresent bool) error {
	version, err := x.preferredVersion(TrafficSplitKind, "trafficManagement smi")
	if err != nil {
		return err
	}
	want := TrafficSplitFor(schema.GroupVersion{Group: TrafficSplitKind.Group, Version: version}.String(), x.namespace, s, weight)
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(want.GroupVersionKind())
	switch err := x.r.reader().Get(ctx, client.ObjectKeyFromObject(want), live); {
	case apierrors.IsNotFound(err):
		if onlyIfPresent {
			return nil
		}
	case err != nil:
		return fmt.Errorf("reading TrafficSplit %s: %w", want.GetName(), err)
	default:
		liveSpec, _, _ := unstructured.NestedMap(live.Object, "spec")
		wantSpec, _, _ := unstructured.NestedMap(want.Object, "spec")
		if equality.Semantic.DeepEqual(TrafficSplitWeights(live), TrafficSplitWeights(want)) && liveSpec["service"] == wantSpec["service"] {
			return nil
		}
	}
	x.log.Info("Splitting traffic", "trafficSplit", want.GetName(), "weights", TrafficSplitWeights(want))
	return x.applyTraffic(ctx, want)
}

// routeIstio points the DestinationRule's active subset at the stable version (the new one when
// final) and its canary subset at the new one, then weighs the VirtualService's route.
func (x *execution) routeIstio(ctx context.Context, is deployv1alpha1.IstioTrafficManagement, stable stableVersions, p trafficPass) error {
	i, err := x.istioWorkload(ctx, is)
	if err != nil {
		return err
	}
	activeVersion := x.versions[i]
	if !p.final {
		if activeVersion = stable.labels[i]; activeVersion == "" {
			return unroutable(stable.refs[i], "istio")
		}
	}
	dr, err := x.getMesh(ctx, DestinationRuleKind, is.DestinationRule.Name, "trafficManagement istio destinationRule")
	if err != nil {
		return err
	}
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	canaryLabels := map[string]string{VersionLabel: labelValue(x.versions[i])}
	want := SetSubsets(subsets, ActiveSubset(is), map[string]string{VersionLabel: labelValue(activeVersion)}, CanarySubset(is), canaryLabels)
	if !equality.Semantic.DeepEqual(subsets, want) {
		if p.final {
			// The canary subset on the new version and all traffic to it first, so that none goes
			// to the active subset while it switches.
			activeLabels, ok := SubsetLabels(subsets, ActiveSubset(is))
			if !ok {
				activeLabels = canaryLabels
			}
			if first := SetSubsets(subsets, ActiveSubset(is), activeLabels, CanarySubset(is), canaryLabels); !equality.Semantic.DeepEqual(subsets, first) {
				if err := x.applyTraffic(ctx, meshPatch(dr, "subsets", first)); err != nil {
					return err
				}
			}
			if err := x.weighVirtualService(ctx, is, 100); err != nil {
				return err
			}
		}
		if err := x.applyTraffic(ctx, meshPatch(dr, "subsets", want)); err != nil {
			return err
		}
		x.log.Info("Pointed the subsets at the versions", "destinationRule", dr.GetName(), "active", activeVersion, "canary", x.versions[i])
	}
	weight := p.weight
	if p.final {
		weight = 0 // the active subset selects the new version now
	}
	return x.weighVirtualService(ctx, is, weight)
}

// weighVirtualService sets the weights of an Istio block's route.
func (x *execution) weighVirtualService(ctx context.Context, is deployv1alpha1.IstioTrafficManagement, weight int32) error {
	vs, err := x.getMesh(ctx, VirtualServiceKind, is.VirtualService.Name, "trafficManagement istio virtualService")
	if err != nil {
		return err
	}
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	want, err := WeighRoute(http, is.VirtualService.HTTPRouteName, ActiveSubset(is), CanarySubset(is), weight)
	if err != nil {
		return &ApplyError{What: "VirtualService " + vs.GetName(), Err: apierrors.NewBadRequest(err.Error())}
	}
	if equality.Semantic.DeepEqual(http, want) {
		return nil
	}
	x.log.Info("Weighing the route", "virtualService", vs.GetName(), "route", is.VirtualService.HTTPRouteName, "canaryWeight", weight)
	return x.applyTraffic(ctx, meshPatch(vs, "http", want))
}

// restoreTraffic sends all traffic back to the stable version before a rollback removes the new
// one: the traffic splits and routes to the stable version first, then every Service back to the
// selector it had before the execution.
func (x *execution) restoreTraffic(ctx context.Context, selectors map[string]map[string]string) error {
	for _, s := range x.traffic.SMI {
		if err := x.setTrafficSplit(ctx, s, 0, true); err != nil {
			return err
		}
	}
	for _, is := range x.traffic.Istio {
		err := x.weighVirtualService(ctx, is, 0)
		if ae, ok := asApplyError(err); ok && apierrors.IsNotFound(ae.Err) {
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(selectors)) {
		svc := &corev1.Service{}
		switch err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: name}, svc); {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("reading Service %s: %w", name, err)
		}
		if err := x.pinService(ctx, svc, selectors[name]); err != nil {
			return err
		}
	}
	return nil
}

// serviceOf reads a Service the execution switches and finds the workload it selects; with record
// it keeps the Service's selector for a rollback.
func (x *execution) serviceOf(ctx context.Context, name, role string, record bool) (*corev1.Service, int, error) {
	svc := &corev1.Service{}
	if err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			err = apierrors.NewNotFound(corev1.Resource("services"), name)
			return nil, 0, &ApplyError{What: role + " " + name, Err: fmt.Errorf("no Service %s in namespace %s: %w", name, x.namespace, err)}
		}
		return nil, 0, fmt.Errorf("reading Service %s: %w", name, err)
	}
	if record {
		if x.selectors == nil {
			x.selectors = map[string]map[string]string{}
		}
		if _, ok := x.selectors[name]; !ok {
			x.selectors[name] = maps.Clone(svc.Spec.Selector)
		}
	}
	i, err := x.workloadSelectedBy(svc)
	return svc, i, err
}

// workloadSelectedBy returns the index of the workload whose pods a Service's selector (without
// VersionLabel) selects.
func (x *execution) workloadSelectedBy(svc *corev1.Service) (int, error) {
	base := BaseSelector(svc.Spec.Selector)
	for i, w := range x.manifests.Workloads {
		if selectsTemplate(base, w.Deployment.Spec.Template.Labels) {
			return i, nil
		}
	}
	msg := fmt.Sprintf("Service %s (selector %v) selects the pods of none of the manifests' Deployments", svc.Name, base)
	return 0, &ApplyError{What: "Service " + svc.Name, Err: apierrors.NewBadRequest(msg)}
}

// istioWorkload returns the workload an Istio block routes: the only one, or the one the
// DestinationRule's host Service selects.
func (x *execution) istioWorkload(ctx context.Context, is deployv1alpha1.IstioTrafficManagement) (int, error) {
	if len(x.manifests.Workloads) == 1 {
		return 0, nil
	}
	dr, err := x.getMesh(ctx, DestinationRuleKind, is.DestinationRule.Name, "trafficManagement istio destinationRule")
	if err != nil {
		return 0, err
	}
	host, _, _ := unstructured.NestedString(dr.Object, "spec", "host")
	short := host
	for j, r := range host {
		if r == '.' {
			short = host[:j]
			break
		}
	}
	_, i, err := x.serviceOf(ctx, short, "DestinationRule host", false)
	return i, err
}

// pinService server-side applies a Service's selector alone (TrafficFieldManager), unless it is
// already want.
func (x *execution) pinService(ctx context.Context, svc *corev1.Service, want map[string]string) error {
	if equality.Semantic.DeepEqual(svc.Spec.Selector, want) || (len(svc.Spec.Selector) == 0 && len(want) == 0) {
		return nil
	}
	selector := map[string]any{}
	for k, v := range want {
		selector[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": svc.Name, "namespace": x.namespace},
		"spec":     map[string]any{"selector": selector},
	}}
	if err := x.applyTraffic(ctx, u); err != nil {
		return err
	}
	x.log.Info("Switched a Service", "service", svc.Name, "from", svc.Spec.Selector, "to", want)
	svc.Spec.Selector = want
	return nil
}

// applyTraffic server-side applies the fields of u with TrafficFieldManager, forcing ownership.
func (x *execution) applyTraffic(ctx context.Context, u *unstructured.Unstructured) error {
	if err := x.r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(TrafficFieldManager), client.ForceOwnership); err != nil {
		return &ApplyError{What: u.GetKind() + " " + u.GetName(), Err: err}
	}
	return nil
}

// getMesh reads a service mesh object of the Rollout's namespace, in the version the cluster
// prefers.
func (x *execution) getMesh(ctx context.Context, gk schema.GroupKind, name, field string) (*unstructured.Unstructured, error) {
	version, err := x.preferredVersion(gk, field)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gk.WithVersion(version))
	if err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &ApplyError{What: field + " " + name, Err: fmt.Errorf("no %s %s in namespace %s: %w", gk.Kind, name, x.namespace, err)}
		}
		return nil, fmt.Errorf("reading %s %s: %w", gk.Kind, name, err)
	}
	return u, nil
}

// preferredVersion returns the version of a kind the cluster prefers; a kind it does not serve is
// a permanent error that names the trafficManagement field.
func (x *execution) preferredVersion(gk schema.GroupKind, field string) (string, error) {
	m, err := x.r.Client.RESTMapper().RESTMapping(gk)
	if err != nil {
		return "", &ApplyError{What: field, Err: fmt.Errorf("the cluster does not serve %s (%s), which %s needs: %w", gk.Kind, gk.Group, field, err)}
	}
	return m.GroupVersionKind.Version, nil
}

// meshPatch is the apply configuration that sets one field of a mesh object's spec.
func meshPatch(live *unstructured.Unstructured, field string, value []any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": live.GetAPIVersion(), "kind": live.GetKind(),
		"metadata": map[string]any{"name": live.GetName(), "namespace": live.GetNamespace()},
		"spec":     map[string]any{field: value},
	}}
}

// versionOfWorkload returns the version label of a stable workload's pods, or "" (none, or a
// Deployment made without Aurora).
func versionOfWorkload(obj client.Object) string {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return o.Spec.Template.Labels[VersionLabel]
	case *appsv1.Deployment:
		return o.Spec.Template.Labels[VersionLabel]
	}
	return ""
}

// unroutable is the error of a traffic split whose stable version's pods carry no version label.
func unroutable(stable string, mesh string) error {
	msg := fmt.Sprintf("the stable version %s runs pods without the %s label, so %s cannot route to it apart from the new version: deploy once without trafficManagement first",
		stable, VersionLabel, mesh)
	return &ApplyError{What: "trafficManagement " + mesh, Err: apierrors.NewBadRequest(msg)}
}

// stableVersions are the stable version of each workload: the label of its pods and its name.
type stableVersions struct {
	labels []string
	refs   []string
}

func stablesOf(objs []*workloadObjects) stableVersions {
	var s stableVersions
	for _, o := range objs {
		ref := "(none)"
		if o.stable != nil {
			ref = o.stable.GetName()
		}
		s.labels, s.refs = append(s.labels, versionOfWorkload(o.stable)), append(s.refs, ref)
	}
	return s
}

// keepRouting returns a manifest object to apply with the fields the execution routes traffic with
// set to what the cluster has now, so that applying the manifests never moves traffic: the
// selector of a Service the execution switches, the subsets of its DestinationRules, the HTTP
// routes of its VirtualServices. Other objects, and objects not in the cluster yet, are applied as
// written.
func (x *execution) keepRouting(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := u.GroupVersionKind()
	var field []string
	switch {
	case gvk.Group == "" && gvk.Kind == "Service" && slices.Contains(x.traffic.services(), u.GetName()):
		field = []string{"spec", "selector"}
	case gvk.GroupKind() == DestinationRuleKind && slices.ContainsFunc(x.traffic.Istio, func(i deployv1alpha1.IstioTrafficManagement) bool { return i.DestinationRule.Name == u.GetName() }):
		field = []string{"spec", "subsets"}
	case gvk.GroupKind() == VirtualServiceKind && slices.ContainsFunc(x.traffic.Istio, func(i deployv1alpha1.IstioTrafficManagement) bool { return i.VirtualService.Name == u.GetName() }):
		field = []string{"spec", "http"}
	default:
		return u, nil
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	switch err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: u.GetName()}, live); {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return u, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	out := u.DeepCopy()
	if !ownsField(live, FieldManager, field...) {
		// Another manager (TrafficFieldManager) routes with it: leave it out, so the apply does not
		// touch it at all.
		unstructured.RemoveNestedField(out.Object, field...)
		return out, nil
	}
	value, found, err := unstructured.NestedFieldCopy(live.Object, field...)
	if err != nil || !found {
		return u, nil
	}
	if err := unstructured.SetNestedField(out.Object, value, field...); err != nil {
		return nil, fmt.Errorf("keeping %s of %s %s: %w", field[len(field)-1], gvk.Kind, u.GetName(), err)
	}
	return out, nil
}

// ownsField reports whether manager's server-side apply owns the field at path of obj.
func ownsField(obj *unstructured.Unstructured, manager string, path ...string) bool {
	for _, e := range obj.GetManagedFields() {
		if e.Manager != manager || e.Operation != metav1.ManagedFieldsOperationApply || e.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(e.FieldsV1.Raw, &fields); err != nil {
			continue
		}
		owned := true
		for _, p := range path {
			next, ok := fields["f:"+p].(map[string]any)
			if !ok {
				owned = false
				break
			}
			fields = next
		}
		if owned {
			return true
		}
	}
	return false
}
