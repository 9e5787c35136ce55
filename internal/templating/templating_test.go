package templating

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestRender(t *testing.T) {
	vars := Vars{
		Armory:  map[string]string{"replicaSetName": "web-0123456789", "namespace": "team"},
		Context: map[string]string{"region": "eu-west-1"},
		Secrets: func(name string) (string, error) {
			if name == "token" {
				return "s3cr3t", nil
			}
			return "", errors.New(`Secret team/aurora-secrets has no key "` + name + `"`)
		},
	}
	shown := vars
	shown.Secrets = nil
	tests := []struct {
		name    string
		tmpl    string
		vars    Vars
		want    string
		wantErr string
	}{
		{name: "armory and context", tmpl: `rate(x{rs="{{armory.replicaSetName}}",ns="{{ armory.namespace }}",region="{{context.region}}"}[1m])`, vars: vars,
			want: `rate(x{rs="web-0123456789",ns="team",region="eu-west-1"}[1m])`},
		{name: "a secret is resolved", tmpl: "Bearer {{secrets.token}}", vars: vars, want: "Bearer s3cr3t"},
		{name: "a secret is kept as written for display", tmpl: "Bearer {{secrets.token}}", vars: shown, want: "Bearer {{secrets.token}}"},
		{name: "no variables", tmpl: "up", vars: vars, want: "up"},
		{name: "unknown armory variable", tmpl: "{{armory.nope}}", vars: vars, wantErr: "q: {{armory.nope}} is not a variable Aurora knows here"},
		{name: "missing context", tmpl: "{{context.team}}", vars: vars, wantErr: "{{context.team}} is not set: add it to the step's context or the deployment's context"},
		{name: "missing secret", tmpl: "{{secrets.other}}", vars: vars, wantErr: `{{secrets.other}}: Secret team/aurora-secrets has no key "other"`},
		{name: "unknown namespace", tmpl: "{{env.HOME}}", vars: vars, wantErr: "{{env.HOME}}: expected armory.*, context.* or secrets.*"},
		{name: "every error is named", tmpl: "{{armory.a}} {{context.b}}", vars: vars, wantErr: "{{armory.a}} is not a variable Aurora knows here; {{context.b}} is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Render("q", tt.tmpl, tt.vars)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestArmory(t *testing.T) {
	g := NewWithT(t)
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v := Armory(ArmoryInput{Start: start, End: start.Add(90 * time.Second), Interval: 30 * time.Second, DeploymentID: "d-1",
		Application: "potato-facts", Environment: "prod", Account: "prod-cluster", Namespace: "potato", ReplicaSetName: "web-abc"})
	g.Expect(v).To(Equal(map[string]string{
		"startTimeIso8601": "2026-11-30T12:00:00Z", "startTimeEpochSeconds": "1796040000", "startTimeEpochMillis": "1796040000000",
		"endTimeIso8601": "2026-11-30T12:01:30Z", "endTimeEpochSeconds": "1796040090", "endTimeEpochMillis": "1796040090000",
		"intervalMillis": "30000", "intervalSeconds": "30", "promQlStepInterval": "90s",
		"deploymentId": "d-1", "applicationName": "potato-facts", "environmentName": "prod", "replicaSetName": "web-abc",
		"accountName": "prod-cluster", "namespace": "potato",
	}))
	g.Expect(Armory(ArmoryInput{Start: start, End: start, CallbackURI: "https://api/webhooks/d/prod/steps%5B1%5D"})).To(
		And(HaveKeyWithValue("callbackUri", "https://api/webhooks/d/prod/steps%5B1%5D"), HaveKeyWithValue("promQlStepInterval", "1s")))
	g.Expect(MergeContext(map[string]string{"a": "deploy", "b": "deploy"}, map[string]string{"b": "step"})).To(Equal(map[string]string{"a": "deploy", "b": "step"}))
}
