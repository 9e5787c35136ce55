package server

import (
	"testing"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

func TestDecodeDeployFile(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Detail
	}{
		{name: "valid", body: "application: potato\ntargets:\n  prod:\n    account: prod\n    strategy: c\nmanifests:\n- inline: x\nstrategies:\n  c:\n    canary:\n      steps:\n      - setWeight: {weight: 50}\n"},
		{name: "empty", body: "  \n", want: []Detail{{Message: "the deploy file is empty; expected a YAML or JSON object with application, targets and manifests"}}},
		{name: "not an object", body: "- a\n", want: []Detail{{Message: "the deploy file must be an object with application, targets and manifests, not a list"}}},
		{
			name: "unknown fields and wrong types everywhere",
			body: "application: a\nfoo: 1\ntargets:\n  prod:\n    account: 3\n    bar: x\nmanifests:\n- inline: x\n  baz: 2\nstrategies:\n  c:\n    canary:\n      steps:\n      - pause: {duration: 1.5, untilApproved: \"yes\"}\n",
			want: []Detail{
				{Field: "foo", Message: `unknown field "foo"; expected one of analysis, application, contextOverrides, deploymentConfig, kind, manifests, strategies, targetFilters, targets, trafficManagement, version, webhooks`},
				{Field: "manifests[0].baz", Message: `unknown field "baz"; expected one of inline, path, targets`},
				{Field: "strategies.c.canary.steps[0].pause.duration", Message: "expected a whole number, got 1.5"},
				{Field: "strategies.c.canary.steps[0].pause.untilApproved", Message: `expected true or false, got the string "yes"`},
				{Field: "targets.prod.account", Message: "expected a string, got the number 3"},
				{Field: "targets.prod.bar", Message: `unknown field "bar"; expected one of account, constraints, namespace, strategy`},
			},
		},
		{name: "out of range", body: "application: a\nstrategies:\n  c:\n    canary:\n      steps:\n      - setWeight: {weight: 9999999999}\n",
			want: []Detail{{Field: "strategies.c.canary.steps[0].setWeight.weight", Message: "9999999999 is out of range for a 32-bit number"}}},
		{name: "duplicate key", body: "application: a\napplication: b\n", want: []Detail{{Message: "the deploy file is not valid YAML or JSON: yaml: unmarshal errors:\n  line 2: key \"application\" already set in map"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, got := DecodeDeployFile([]byte(tt.body))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d details %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("detail %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
			if len(tt.want) == 0 && (spec == nil || spec.Application != "potato" || spec.Targets["prod"].Strategy != "c") {
				t.Errorf("spec not decoded: %+v", spec)
			}
		})
	}
}

func TestDeployFilePath(t *testing.T) {
	for in, want := range map[string]string{
		"spec":                                    "",
		"spec.application":                        "application",
		"spec.targets[prod].strategy":             "targets.prod.strategy",
		"spec.targets[prod].constraints":          "targets.prod.constraints",
		"spec.manifests[0].inline":                "manifests[0].inline",
		"spec.strategies[c].canary.steps[2]":      "strategies.c.canary.steps[2]",
		"spec.targets.prod.constraints.dependsOn": "targets.prod.constraints.dependsOn",
	} {
		if got := DeployFilePath(in); got != want {
			t.Errorf("DeployFilePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateDeployFile(t *testing.T) {
	spec := &deployv1alpha1.DeploymentSpec{
		Application: "a",
		Targets: map[string]deployv1alpha1.Target{
			"prod":    {Account: "prod", Strategy: "nope", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"staging"}}},
			"staging": {Account: "staging", Strategy: "c", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"prod"}}},
		},
		Manifests:  []deployv1alpha1.Manifest{{Inline: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}},
		Strategies: map[string]deployv1alpha1.Strategy{"c": {Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}}},
	}
	got := ValidateDeployFile(spec)
	fields := map[string]bool{}
	for _, d := range got {
		fields[d.Field] = true
		if len(d.Message) == 0 || containsSpecPrefix(d.Message) {
			t.Errorf("message %q should say what is wrong without spec. paths", d.Message)
		}
	}
	for _, want := range []string{"targets.prod.strategy", "targets.prod.constraints.dependsOn"} {
		if !fields[want] {
			t.Errorf("no detail for %s in %+v", want, got)
		}
	}
}

func containsSpecPrefix(s string) bool { return specPrefix.MatchString(s) }
