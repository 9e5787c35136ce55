package deployfile

import (
	"testing"

	. "github.com/onsi/gomega"
)

const locateSource = `version: v1
application: potato-facts
targets:
  staging:
    account: staging
    strategy: rolling
  prod.eu:
    account: prod
    strategy: canary
    constraints:
      dependsOn: [staging]
manifests:
  - path: ./manifests/
  - inline: |
      kind: ConfigMap
strategies:
  canary:
    canary:
      steps:
        - setWeight:
            weight: 25
        - pause:
            duration: 1
            unit: minutes
`

func TestLocate(t *testing.T) {
	f, err := Parse("deploy.yml", []byte(locateSource), ".")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path         string
		line, column int
		exact        bool
	}{
		{"application", 2, 1, true},
		{"targets.staging.strategy", 6, 5, true},
		{"spec.targets.staging.strategy", 6, 5, true},
		{"targets.prod.eu.constraints.dependsOn", 11, 7, true},
		{"targets.prod.eu.constraints.dependsOn[0]", 11, 19, true},
		{"manifests[0]", 13, 5, true},
		{"manifests[0].path", 13, 5, true},
		{"manifests[1].inline", 14, 5, true},
		// manifests[0].inline of a path the CLI resolved: the item that held the path.
		{"manifests[0].inline", 13, 5, false},
		{"strategies.canary.canary.steps[1].pause.duration", 23, 13, true},
		{"strategies.canary.canary.steps[1].pause.untilApproved", 22, 11, false},
		// A missing required field: its parent.
		{"targets.staging.namespace", 4, 3, false},
		{"strategies.canary.canary.steps[7]", 19, 7, false},
		{"webhooks[0].name", 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			g := NewWithT(t)
			line, column, exact := f.Locate(tt.path)
			g.Expect([]any{line, column, exact}).To(Equal([]any{tt.line, tt.column, tt.exact}))
		})
	}
}

func TestFieldErrorAt(t *testing.T) {
	g := NewWithT(t)
	f, err := Parse("deploy.yml", []byte(locateSource), ".")
	g.Expect(err).NotTo(HaveOccurred())
	e := f.FieldErrorAt("spec.targets.prod.eu.strategy", `unknown strategy "canary"`)
	g.Expect(e.Error()).To(Equal(`deploy.yml:9:5: targets.prod.eu.strategy: unknown strategy "canary"`))
	g.Expect(f.FieldErrorAt("", "something").Error()).To(Equal("deploy.yml: something"))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, source, want string
	}{
		{"a tab in the indentation", "application: a\ntargets:\n\tstaging: {}\n", "deploy.yml:3: invalid YAML: found character that cannot start any token"},
		{"an unclosed flow sequence", "application: a\ntargets:\n  staging:\n    dependsOn: [a, b\n", "deploy.yml:4: invalid YAML:"},
		{"a mapping value in a scalar", "application: a: b\n", "deploy.yml:1: invalid YAML: mapping values are not allowed in this context"},
		{"a list at the top", "- a\n- b\n", "deploy.yml:1:1: expected a mapping"},
		{"an empty file", "", "deploy.yml: the file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Parse("deploy.yml", []byte(tt.source), ".")
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
}

func TestParseFieldPath(t *testing.T) {
	g := NewWithT(t)
	toks, err := parseFieldPath("spec.strategies.a.canary.steps[2].pause")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(toks).To(Equal([]pathToken{{key: "strategies"}, {key: "a"}, {key: "canary"}, {key: "steps"}, {index: 2, isIndex: true}, {key: "pause"}}))
	toks, err = parseFieldPath("m[0][1]")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(toks).To(Equal([]pathToken{{key: "m"}, {index: 0, isIndex: true}, {index: 1, isIndex: true}}))
	_, err = parseFieldPath("a..b")
	g.Expect(err).To(HaveOccurred())
}
