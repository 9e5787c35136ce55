// Package bundle validates the committed OLM bundle (bundle/) offline, the way
// `operator-sdk bundle validate` and the scorecard's olm-bundle-validation test do, with the
// operator-framework/api library; checks metadata/annotations.yaml against bundle.Dockerfile; and
// regenerates the bundle to prove it is current.
package bundle

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	"sigs.k8s.io/yaml"

	"github.com/aurora-cd/aurora/hack/bundle/generate"
)

const (
	root      = "../.."
	bundleDir = root + "/bundle"
	// kubeVersion is the Kubernetes version the deprecated-API check looks ahead to.
	kubeVersion = "1.37"
)

func report(t *testing.T, results []errors.ManifestResult) {
	t.Helper()
	for _, r := range results {
		for _, w := range r.Warnings {
			t.Logf("warning: %s: %s", r.Name, w.Error())
		}
		for _, e := range r.Errors {
			t.Errorf("error: %s: %s", r.Name, e.Error())
		}
	}
}

func loadBundle(t *testing.T) *manifests.Bundle {
	t.Helper()
	b, err := manifests.GetBundleFromDir(bundleDir)
	if err != nil {
		t.Fatalf("GetBundleFromDir(%s): %v", bundleDir, err)
	}
	if b.CSV == nil {
		t.Fatal("the bundle has no ClusterServiceVersion")
	}
	return b
}

func TestBundleValidates(t *testing.T) {
	b := loadBundle(t)
	objs := b.ObjectsToValidate()
	report(t, validation.DefaultBundleValidators.Validate(objs...))
	// The CSV validator on its own (what `operator-sdk bundle validate` also runs).
	report(t, validation.ClusterServiceVersionValidator.Validate(b.CSV))
	// Optional checks of `bundle validate --select-optional`: good practices, deprecated APIs
	// (an error only if an API is removed by kubeVersion), standard capabilities and categories.
	optional := append(objs, map[string]string{"k8s-version": kubeVersion})
	report(t, validation.GoodPracticesValidator.Validate(optional...))
	report(t, validation.AlphaDeprecatedAPIsValidator.Validate(optional...))
	report(t, validation.StandardCapabilitiesValidator.Validate(optional...))
	report(t, validation.StandardCategoriesValidator.Validate(optional...))
	report(t, validation.ObjectValidator.Validate(optional...))

	if got, want := b.CSV.Name, "aurora.v"+b.CSV.Spec.Version.String(); got != want {
		t.Errorf("CSV name %s, want %s", got, want)
	}
	if len(b.V1CRDs) != len(b.CSV.Spec.CustomResourceDefinitions.Owned) {
		t.Errorf("%d CRDs in the bundle, %d owned by the CSV", len(b.V1CRDs), len(b.CSV.Spec.CustomResourceDefinitions.Owned))
	}
	hasStatus := map[string]bool{}
	for _, crd := range b.V1CRDs {
		for _, v := range crd.Spec.Versions {
			hasStatus[crd.Name] = hasStatus[crd.Name] || (v.Subresources != nil && v.Subresources.Status != nil)
		}
	}
	for _, o := range b.CSV.Spec.CustomResourceDefinitions.Owned {
		if o.DisplayName == "" || o.Description == "" || len(o.SpecDescriptors) == 0 || (hasStatus[o.Name] && len(o.StatusDescriptors) == 0) {
			t.Errorf("owned %s: want displayName, description, spec descriptors and (for a kind with status) status descriptors", o.Name)
		}
	}
	modes := map[string]bool{}
	for _, m := range b.CSV.Spec.InstallModes {
		modes[string(m.Type)] = m.Supported
	}
	wantModes := map[string]bool{"OwnNamespace": false, "SingleNamespace": false, "MultiNamespace": false, "AllNamespaces": true}
	for k, v := range wantModes {
		if s, ok := modes[k]; !ok || s != v {
			t.Errorf("installMode %s: supported=%v (listed %v), want %v", k, s, ok, v)
		}
	}
	deps := b.CSV.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	perms := b.CSV.Spec.InstallStrategy.StrategySpec.ClusterPermissions
	if len(deps) != 1 || len(perms) != 1 {
		t.Fatalf("want one deployment and one cluster permission, got %d and %d", len(deps), len(perms))
	}
	if sa := deps[0].Spec.Template.Spec.ServiceAccountName; sa != perms[0].ServiceAccountName {
		t.Errorf("deployment runs as %q, cluster permissions are for %q", sa, perms[0].ServiceAccountName)
	}
	if img := deps[0].Spec.Template.Spec.Containers[0].Image; img != b.CSV.Annotations["containerImage"] || strings.HasPrefix(img, "controller") {
		t.Errorf("manager image %q, containerImage annotation %q", img, b.CSV.Annotations["containerImage"])
	}
}

// TestAnnotations checks metadata/annotations.yaml (which the library does not) and that
// bundle.Dockerfile carries the same keys and values as LABELs.
func TestAnnotations(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(bundleDir, "metadata/annotations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.UnmarshalStrict(raw, &file); err != nil {
		t.Fatalf("annotations.yaml: %v", err)
	}
	want := map[string]string{
		generate.MediaTypeKey:      "registry+v1",
		generate.ManifestsKey:      "manifests/",
		generate.MetadataKey:       "metadata/",
		generate.PackageKey:        "aurora",
		generate.ChannelsKey:       "alpha",
		generate.DefaultChannelKey: "alpha",
	}
	for k, v := range want {
		if got, ok := file.Annotations[k]; !ok || got != v {
			t.Errorf("annotations.yaml %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	channels := strings.Split(file.Annotations[generate.ChannelsKey], ",")
	if def := file.Annotations[generate.DefaultChannelKey]; def != "" && !contains(channels, def) {
		t.Errorf("default channel %q is not among channels %v", def, channels)
	}
	for _, dir := range []string{"manifests", "metadata"} {
		if v := file.Annotations["operators.operatorframework.io.bundle."+dir+".v1"]; v != dir+"/" {
			t.Errorf("%s dir annotation %q", dir, v)
		} else if st, err := os.Stat(filepath.Join(bundleDir, dir)); err != nil || !st.IsDir() {
			t.Errorf("bundle/%s: %v", dir, err)
		}
	}

	labels := dockerLabels(t, filepath.Join(bundleDir, "bundle.Dockerfile"))
	for k, v := range file.Annotations {
		if got, ok := labels[k]; !ok || got != v {
			t.Errorf("bundle.Dockerfile LABEL %s = %q (present %v), annotations.yaml says %q", k, got, ok, v)
		}
	}
	for k := range labels {
		if _, ok := file.Annotations[k]; !ok && strings.HasPrefix(k, "operators.operatorframework.io.") {
			t.Errorf("bundle.Dockerfile LABEL %s is not in annotations.yaml", k)
		}
	}
}

func dockerLabels(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "LABEL ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("%s: cannot parse LABEL %q", path, kv)
			}
			labels[k] = strings.Trim(v, `"`)
		}
	}
	if len(labels) == 0 {
		t.Fatalf("%s has no LABELs", path)
	}
	return labels
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestBundleIsCurrent regenerates the bundle from config/ with the committed CSV's version and
// image and compares it with bundle/, file by file: run `make bundle` when it fails.
func TestBundleIsCurrent(t *testing.T) {
	b := loadBundle(t)
	deps := b.CSV.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	if len(deps) == 0 {
		t.Fatal("the committed CSV has no deployment")
	}
	tmp := t.TempDir()
	opts := generate.Options{Root: root, Version: b.CSV.Spec.Version.String(), Image: deps[0].Spec.Template.Spec.Containers[0].Image}
	if err := generate.Write(opts, tmp); err != nil {
		t.Fatalf("generate: %v", err)
	}
	want := tree(t, tmp)
	got := tree(t, bundleDir)
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("bundle/%s is missing: run make bundle", name)
		case !bytes.Equal(g, w):
			t.Errorf("bundle/%s is stale: run make bundle", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && (strings.HasPrefix(name, "manifests/") || strings.HasPrefix(name, "metadata/")) {
			t.Errorf("bundle/%s is not generated any more: run make bundle", name)
		}
	}
}

func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = raw
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestValidationCatchesMissingCRD proves the validators bite: a bundle whose CSV owns a CRD that
// is not in manifests/ must fail.
func TestValidationCatchesMissingCRD(t *testing.T) {
	tmp := t.TempDir()
	if err := generate.Write(generate.Options{Root: root}, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(tmp, "manifests", "deploy.aurora.dev_judgments.yaml")); err != nil {
		t.Fatal(err)
	}
	b, err := manifests.GetBundleFromDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range validation.DefaultBundleValidators.Validate(b.ObjectsToValidate()...) {
		if r.HasError() {
			return
		}
	}
	t.Error("no validation error for an owned CRD missing from the bundle")
}
