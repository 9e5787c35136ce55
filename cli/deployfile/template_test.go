package deployfile

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/aurora-cd/aurora/server"
)

// TestTemplatesValidate decodes every template, with every combination of features, with the API's
// strict decoding (unknown or misspelt fields and wrong types fail) and validates it as the API does
// (the Deployment controller's checks).
func TestTemplatesValidate(t *testing.T) {
	for _, kind := range TemplateKinds {
		for mask := 0; mask < 1<<len(TemplateFeatures); mask++ {
			var features []string
			for i, f := range TemplateFeatures {
				if mask&(1<<i) != 0 {
					features = append(features, f)
				}
			}
			t.Run(kind+"/"+strings.Join(features, ","), func(t *testing.T) {
				g := NewWithT(t)
				out, err := Template(kind, features)
				g.Expect(err).NotTo(HaveOccurred())
				decoded, details := server.DecodeDeployFile(out)
				g.Expect(details).To(BeEmpty(), string(out))
				g.Expect(server.ValidateDeployFile(decoded)).To(BeEmpty(), string(out))
				spec := *decoded
				g.Expect(spec.Targets).To(HaveKey("prod"))
				strategy := spec.Strategies[spec.Targets["prod"].Strategy]
				if kind == "canary" {
					g.Expect(strategy.Canary).NotTo(BeNil())
				} else {
					g.Expect(strategy.BlueGreen).NotTo(BeNil())
				}
				has := func(f string) bool { return mask&(1<<indexOf(f)) != 0 }
				g.Expect(spec.Analysis != nil).To(Equal(has("automated")), "analysis queries with automated")
				g.Expect(len(spec.TrafficManagement) > 0).To(Equal(has("traffic")), "trafficManagement with traffic")
				beforeProd := spec.Targets["prod"].Constraints.BeforeDeployment
				g.Expect(len(beforeProd) == 1 && beforeProd[0].Pause != nil && beforeProd[0].Pause.UntilApproved).To(Equal(has("manual")),
					"an approval before prod with manual")
				// Every manifest is a Kubernetes object.
				for _, m := range spec.Manifests {
					for _, doc := range strings.Split(m.Inline, "\n---\n") {
						obj := map[string]any{}
						g.Expect(yaml.Unmarshal([]byte(doc), &obj)).To(Succeed())
						g.Expect(obj).To(HaveKey("apiVersion"))
						g.Expect(obj).To(HaveKey("kind"))
					}
				}
			})
		}
	}
}

func indexOf(feature string) int {
	for i, f := range TemplateFeatures {
		if f == feature {
			return i
		}
	}
	return -1
}

func TestTemplateErrors(t *testing.T) {
	g := NewWithT(t)
	_, err := Template("rolling", nil)
	g.Expect(err).To(MatchError(`template "rolling": expected one of canary, bluegreen`))
	_, err = Template("canary", []string{"manual", "magic"})
	g.Expect(err).To(MatchError(`--features: unknown feature "magic"; expected a list of manual, automated, traffic`))
	out, err := Template("canary", []string{" manual ", ""})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(ContainSubstring("untilApproved: true"))
}
