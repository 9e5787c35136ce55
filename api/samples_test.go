package api_test

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	"github.com/aurora-cd/aurora/internal/scheme"
)

// TestSamplesDecodeStrictly decodes every sample into its Go type, refusing unknown or duplicate
// fields, so that a sample can never carry a field name the API does not have.
func TestSamplesDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*_v1alpha1_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("found %d samples in %s, want one per kind at least", len(files), samplesDir)
	}
	codecs := serializer.NewCodecFactory(scheme.New(), serializer.EnableStrict)
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := yaml.YAMLToJSONStrict(data); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		obj, gvk, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, ok := obj.(runtime.Object); !ok || gvk.Version != "v1alpha1" {
			t.Errorf("%s: decoded %v", f, gvk)
		}
		seen[gvk.Kind] = true
	}
	for _, kind := range []string{"Tenant", "MachineCredential", "User", "Deployment", "Judgment", "Agent", "Rollout"} {
		if !seen[kind] {
			t.Errorf("no sample of %s in %s", kind, samplesDir)
		}
	}
}
