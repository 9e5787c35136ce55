package deployfile

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/template"
)

// Template kinds and features of `aurora template`.
var (
	// TemplateKinds are the strategies a template can show.
	TemplateKinds = []string{"canary", "bluegreen"}
	// TemplateFeatures are the optional parts of a template.
	TemplateFeatures = []string{"manual", "automated", "traffic"}
)

// Template writes a deploy file skeleton of kind (canary or bluegreen) with the features asked for:
// manual (approvals), automated (metric analysis) and traffic (traffic management). The result is a
// complete deploy file, with sample manifests inline, that validates as it is.
func Template(kind string, features []string) ([]byte, error) {
	if !slices.Contains(TemplateKinds, kind) {
		return nil, fmt.Errorf("template %q: expected one of %s", kind, strings.Join(TemplateKinds, ", "))
	}
	on := map[string]bool{}
	for _, f := range features {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(TemplateFeatures, f) {
			return nil, fmt.Errorf("--features: unknown feature %q; expected a list of %s", f, strings.Join(TemplateFeatures, ", "))
		}
		on[f] = true
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, kind, on); err != nil {
		return nil, fmt.Errorf("writing the %s template: %w", kind, err)
	}
	return b.Bytes(), nil
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{"dict": dict}).Parse(`
{{- define "header" -}}
# A deploy file for Aurora: start it with  aurora deploy start -f <this file>
# and check it with  aurora validate -f <this file>.
version: v1
kind: kubernetes
# application names what you deploy; one deployment of it runs at a time.
application: potato-facts
{{- if .manual}}
deploymentConfig:
  timeout:
    duration: 30
    unit: minutes
  # reject (the default) refuses a deployment while another of the application runs; enqueueOne
  # queues it.
  ifDeploymentInProgress:
    strategy: reject
{{- end}}
targets:
  staging:
    # account is the agent identifier of the Remote Network Agent in the target cluster.
    account: staging
    namespace: potato-facts
    strategy: {{.strategy}}
  prod:
    account: prod
    namespace: potato-facts
    strategy: {{.strategy}}
    constraints:
      # prod starts once staging has succeeded.
      dependsOn: [staging]
{{- if .manual}}
      # A person approves before prod starts (aurora deploy approve <id>).
      beforeDeployment:
        - pause:
            untilApproved: true
{{- end}}
# manifests are inline here; instead give a file, a directory of YAML files or an http(s) URL:
#   - path: ./manifests/
# and, to deploy some of them to some targets only, targets: [staging].
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: potato-facts
        labels:
          app: potato-facts
      spec:
        replicas: 4
        selector:
          matchLabels:
            app: potato-facts
        template:
          metadata:
            labels:
              app: potato-facts
          spec:
            containers:
              - name: potato-facts
                image: ghcr.io/aurora-cd/potato-facts:v2
                ports:
                  - containerPort: 8080
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: potato-facts
      spec:
        selector:
          app: potato-facts
        ports:
          - port: 80
            targetPort: 8080
{{- if .preview}}
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: potato-facts-preview
      spec:
        selector:
          app: potato-facts
        ports:
          - port: 80
            targetPort: 8080
{{- end}}
{{- end}}

{{- define "analysisStep" -}}
analysis:
{{.indent}}  interval: 30
{{.indent}}  units: seconds
{{.indent}}  numberOfJudgmentRuns: 2
{{.indent}}  rollBackMode: automatic
{{.indent}}  rollForwardMode: automatic
{{.indent}}  queries:
{{.indent}}    - avgCPUUsage
{{- end}}

{{- define "analysisQueries" -}}
{{- if .automated}}
# analysis holds the metric queries of analysis steps; every query must stay within its limits.
analysis:
  defaultMetricProviderName: prometheus
  queries:
    - name: avgCPUUsage
      upperLimit: 80
      lowerLimit: 0
      queryTemplate: >-
        avg(rate(container_cpu_usage_seconds_total{namespace="{{"{{"}}armory.namespace{{"}}"}}",
        pod=~"{{"{{"}}armory.replicaSetName{{"}}"}}-.*"}[{{"{{"}}armory.promQlStepInterval{{"}}"}}])) * 100
{{- end}}
{{- end}}

{{- define "canary" -}}
{{- template "header" (dict "manual" .manual "strategy" "canary" "preview" false)}}
strategies:
  canary:
    canary:
      steps:
        # Without traffic management a weight is the share of pods of the new version.
        - setWeight:
            weight: 25
{{- if .automated}}
        - {{template "analysisStep" (dict "indent" "          ")}}
{{- end}}
{{- if .manual}}
        - pause:
            untilApproved: true
{{- else}}
        - pause:
            duration: 1
            unit: minutes
{{- end}}
        - setWeight:
            weight: 50
        - pause:
            duration: 1
            unit: minutes
        - setWeight:
            weight: 100
{{- template "analysisQueries" .}}
{{- if .traffic}}
# trafficManagement splits traffic by weight with a service mesh instead of by pod count.
trafficManagement:
  - targets: [prod]
    smi:
      - rootServiceName: potato-facts
{{- end}}
{{end}}

{{- define "bluegreen" -}}
{{- template "header" (dict "manual" .manual "strategy" "blue-green" "preview" true)}}
strategies:
  blue-green:
    blueGreen:
{{- if not .traffic}}
      # activeService carries production traffic; previewService points at the new version.
      activeService: potato-facts
      previewService: potato-facts-preview
{{- end}}
      # Every condition must pass, in parallel, before the active Service switches over.
      redirectTrafficAfter:
{{- if .manual}}
        - pause:
            untilApproved: true
{{- else}}
        - pause:
            duration: 2
            unit: minutes
{{- end}}
{{- if .automated}}
        - {{template "analysisStep" (dict "indent" "          ")}}
{{- end}}
      # ...and before the old version is scaled down.
      shutDownOldVersionAfter:
        - pause:
            duration: 5
            unit: minutes
{{- template "analysisQueries" .}}
{{- if .traffic}}
# trafficManagement names the Services that blue/green switches.
trafficManagement:
  - kubernetes:
      - activeService: potato-facts
        previewService: potato-facts-preview
{{- end}}
{{end}}
`))

// dict builds a map of the templates' arguments from key, value pairs.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
