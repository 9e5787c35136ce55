// Package templating renders the templates of a deploy file: analysis queryTemplates and webhook
// uriTemplates, headers and bodyTemplates, with their {{armory.*}}, {{context.*}} and {{secrets.*}}
// variables. Secrets are resolved last and only when asked, so that a template can be shown with
// them left as written.
package templating

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// templateVariable matches {{armory.name}}, {{context.name}} and {{secrets.name}}, spaces allowed
// inside the braces. A name is letters, digits, '_', '-' and '.' (armory.preview.<svc>).
var templateVariable = regexp.MustCompile(`\{\{\s*([A-Za-z]+)\.([A-Za-z0-9_.\-]+)\s*\}\}`)

// Secrets returns the value of a tenant secret; it is called only while a request is built.
type Secrets func(name string) (string, error)

// Vars are the values a queryTemplate, uriTemplate, header or bodyTemplate may use.
type Vars struct {
	// Armory are the {{armory.*}} variables (see ArmoryVars).
	Armory map[string]string
	// Context are the {{context.*}} variables: the deployment's context, then the step's.
	Context map[string]string
	// Secrets resolves {{secrets.*}}; nil leaves them as written (for display).
	Secrets Secrets
}

// Render replaces every variable of tmpl. An unknown namespace, armory or context variable, or a
// secret that cannot be resolved, is an error that names it; field names where the template is,
// for the message. With a nil Secrets resolver, {{secrets.*}} are kept as written, so the result
// can be shown without revealing them.
func Render(field, tmpl string, vars Vars) (string, error) {
	var errs []string
	out := templateVariable.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := templateVariable.FindStringSubmatch(m)
		ns, name := sub[1], sub[2]
		switch ns {
		case "armory":
			if v, ok := vars.Armory[name]; ok {
				return v
			}
			errs = append(errs, fmt.Sprintf("{{armory.%s}} is not a variable Aurora knows here", name))
		case "context":
			if v, ok := vars.Context[name]; ok {
				return v
			}
			errs = append(errs, fmt.Sprintf("{{context.%s}} is not set: add it to the step's context or the deployment's context", name))
		case "secrets":
			if vars.Secrets == nil {
				return m
			}
			v, err := vars.Secrets(name)
			if err == nil {
				return v
			}
			errs = append(errs, fmt.Sprintf("{{secrets.%s}}: %v", name, err))
		default:
			errs = append(errs, fmt.Sprintf("{{%s.%s}}: expected armory.*, context.* or secrets.*", ns, name))
		}
		return m
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s: %s", field, strings.Join(errs, "; "))
	}
	return out, nil
}

// ArmoryInput is what the {{armory.*}} variables are made of.
type ArmoryInput struct {
	// Start and End bound the window a query or webhook is about.
	Start, End time.Time
	// Interval is the analysis interval (zero for webhooks).
	Interval time.Duration
	// DeploymentID is the Aurora Deployment's name (the deployment-id label).
	DeploymentID string
	// Application, Environment (the target), Account, Namespace name the target.
	Application, Environment, Account, Namespace string
	// ReplicaSetName is the new version's name (comma-joined for several workloads).
	ReplicaSetName string
	// CallbackURI is a webhook's callback URI; empty for queries.
	CallbackURI string
}

// Armory returns the {{armory.*}} variables: startTimeIso8601, startTimeEpochSeconds,
// startTimeEpochMillis, the same for endTime, intervalMillis, intervalSeconds, promQlStepInterval
// (the window's length as a PromQL duration, such as "120s", for range selectors), deploymentId,
// applicationName, environmentName, replicaSetName, accountName, namespace and, for webhooks,
// callbackUri.
func Armory(in ArmoryInput) map[string]string {
	window := max(in.End.Sub(in.Start), time.Second)
	v := map[string]string{
		"startTimeIso8601":      in.Start.UTC().Format(time.RFC3339),
		"startTimeEpochSeconds": strconv.FormatInt(in.Start.Unix(), 10),
		"startTimeEpochMillis":  strconv.FormatInt(in.Start.UnixMilli(), 10),
		"endTimeIso8601":        in.End.UTC().Format(time.RFC3339),
		"endTimeEpochSeconds":   strconv.FormatInt(in.End.Unix(), 10),
		"endTimeEpochMillis":    strconv.FormatInt(in.End.UnixMilli(), 10),
		"intervalMillis":        strconv.FormatInt(in.Interval.Milliseconds(), 10),
		"intervalSeconds":       strconv.FormatInt(int64(in.Interval/time.Second), 10),
		"promQlStepInterval":    strconv.FormatInt(int64((window+time.Second-1)/time.Second), 10) + "s",
		"deploymentId":          in.DeploymentID,
		"applicationName":       in.Application,
		"environmentName":       in.Environment,
		"replicaSetName":        in.ReplicaSetName,
		"accountName":           in.Account,
		"namespace":             in.Namespace,
	}
	if in.CallbackURI != "" {
		v["callbackUri"] = in.CallbackURI
	}
	return v
}

// MergeContext returns the deployment's context overridden by the step's.
func MergeContext(deployment, step map[string]string) map[string]string {
	out := make(map[string]string, len(deployment)+len(step))
	for k, v := range deployment {
		out[k] = v
	}
	for k, v := range step {
		out[k] = v
	}
	return out
}
