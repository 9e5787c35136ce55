package deployment

import (
	"fmt"
	"slices"
	"strings"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// Validate returns every problem of a deploy file that the CRD schema cannot catch (or that an
// older schema let through), each as "<field path>: <what is wrong>". Field paths name map keys
// with dots: spec.targets.prod.constraints.dependsOn. An empty result means the deployment can be
// planned.
func Validate(spec *deployv1alpha1.DeploymentSpec) []string {
	v := &validator{spec: spec}
	v.targets()
	v.cycles()
	v.manifests()
	v.targetFilters()
	v.strategies()
	v.errs = append(v.errs, agentGates(spec)...)
	v.errs = append(v.errs, trafficProblems(spec)...)
	return v.errs
}

// validator collects the problems of one spec.
type validator struct {
	spec *deployv1alpha1.DeploymentSpec
	errs []string
}

func (v *validator) addf(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

// targets checks each target's strategy, dependsOn, and constraint gates.
func (v *validator) targets() {
	for _, name := range sortedKeys(v.spec.Targets) {
		t := v.spec.Targets[name]
		path := "spec.targets." + name
		if _, ok := v.spec.Strategies[t.Strategy]; !ok {
			v.addf(path+".strategy", "unknown strategy %q; spec.strategies has %s", t.Strategy, quoteList(sortedKeys(v.spec.Strategies)))
		}
		if t.Constraints == nil {
			continue
		}
		for _, dep := range t.Constraints.DependsOn {
			if _, ok := v.spec.Targets[dep]; !ok {
				v.addf(path+".constraints.dependsOn", "unknown target %q; spec.targets has %s", dep, quoteList(sortedKeys(v.spec.Targets)))
			}
		}
		for i, g := range t.Constraints.BeforeDeployment {
			if g.RunWebhook != nil {
				v.webhook(fmt.Sprintf("%s.constraints.beforeDeployment[%d].runWebhook.name", path, i), g.RunWebhook.Name)
			}
		}
		for i, g := range t.Constraints.AfterDeployment {
			gp := fmt.Sprintf("%s.constraints.afterDeployment[%d]", path, i)
			if g.RunWebhook != nil {
				v.webhook(gp+".runWebhook.name", g.RunWebhook.Name)
			}
			if g.Analysis != nil {
				v.queries(gp+".analysis.queries", g.Analysis.Queries)
			}
		}
	}
}

// cycles reports every dependsOn cycle once, as "cycle a → b → a", at the dependsOn of the
// cycle's first target in name order.
func (v *validator) cycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, dep := range sortedDeps(v.spec, n) {
			switch color[dep] {
			case grey:
				start := slices.Index(stack, dep)
				cycle := append(slices.Clone(stack[start:]), dep)
				v.addf("spec.targets."+dep+".constraints.dependsOn", "cycle %s", strings.Join(cycle, " → "))
			case white:
				visit(dep)
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, name := range sortedKeys(v.spec.Targets) {
		if color[name] == white {
			visit(name)
		}
	}
}

// manifests checks the manifests' targets and their YAML, and that every target gets one.
func (v *validator) manifests() {
	aimed := map[string]bool{}
	for i, m := range v.spec.Manifests {
		path := fmt.Sprintf("spec.manifests[%d]", i)
		if len(m.Targets) == 0 {
			for t := range v.spec.Targets {
				aimed[t] = true
			}
		}
		for _, t := range m.Targets {
			if _, ok := v.spec.Targets[t]; !ok {
				v.addf(path+".targets", "unknown target %q; spec.targets has %s", t, quoteList(sortedKeys(v.spec.Targets)))
			}
			aimed[t] = true
		}
		v.errs = append(v.errs, checkManifest(path+".inline", m.Inline)...)
	}
	for _, name := range sortedKeys(v.spec.Targets) {
		if !aimed[name] {
			v.addf("spec.targets."+name, "no manifest is aimed at this target; give a manifest without targets or one that names %q", name)
		}
	}
}

// targetFilters checks that every filter names a target.
func (v *validator) targetFilters() {
	for i, f := range v.spec.TargetFilters {
		if _, ok := v.spec.Targets[f.IncludeTarget]; !ok {
			v.addf(fmt.Sprintf("spec.targetFilters[%d].includeTarget", i), "unknown target %q; spec.targets has %s", f.IncludeTarget, quoteList(sortedKeys(v.spec.Targets)))
		}
	}
}

// strategies checks the queries and webhooks that strategy steps name.
func (v *validator) strategies() {
	for _, name := range sortedKeys(v.spec.Strategies) {
		s := v.spec.Strategies[name]
		path := "spec.strategies." + name
		if s.Canary != nil {
			for i, step := range s.Canary.Steps {
				sp := fmt.Sprintf("%s.canary.steps[%d]", path, i)
				if step.Analysis != nil {
					v.queries(sp+".analysis.queries", step.Analysis.Queries)
				}
				if step.RunWebhook != nil {
					v.webhook(sp+".runWebhook.name", step.RunWebhook.Name)
				}
			}
		}
		if s.BlueGreen != nil {
			for _, list := range []struct {
				field string
				conds []deployv1alpha1.BlueGreenCondition
			}{{"redirectTrafficAfter", s.BlueGreen.RedirectTrafficAfter}, {"shutDownOldVersionAfter", s.BlueGreen.ShutDownOldVersionAfter}} {
				for i, c := range list.conds {
					cp := fmt.Sprintf("%s.blueGreen.%s[%d]", path, list.field, i)
					if c.Analysis != nil {
						v.queries(cp+".analysis.queries", c.Analysis.Queries)
					}
					if c.RunWebhook != nil {
						v.webhook(cp+".runWebhook.name", c.RunWebhook.Name)
					}
				}
			}
		}
	}
}

// queries reports the names that are not in spec.analysis.queries.
func (v *validator) queries(path string, names []string) {
	known := queryNames(v.spec)
	for _, q := range names {
		if !slices.Contains(known, q) {
			if len(known) == 0 {
				v.addf(path, "unknown query %q; spec.analysis defines no queries", q)
			} else {
				v.addf(path, "unknown query %q; spec.analysis.queries has %s", q, quoteList(known))
			}
		}
	}
}

// webhook reports a name that is not in spec.webhooks.
func (v *validator) webhook(path, name string) {
	var known []string
	for _, w := range v.spec.Webhooks {
		known = append(known, w.Name)
	}
	if slices.Contains(known, name) {
		return
	}
	if len(known) == 0 {
		v.addf(path, "unknown webhook %q; spec.webhooks defines none", name)
	} else {
		v.addf(path, "unknown webhook %q; spec.webhooks has %s", name, quoteList(known))
	}
}

func queryNames(spec *deployv1alpha1.DeploymentSpec) []string {
	if spec.Analysis == nil {
		return nil
	}
	names := make([]string, 0, len(spec.Analysis.Queries))
	for _, q := range spec.Analysis.Queries {
		names = append(names, q.Name)
	}
	return names
}

// sortedDeps returns the known dependencies of a target, in name order.
func sortedDeps(spec *deployv1alpha1.DeploymentSpec, name string) []string {
	t := spec.Targets[name]
	if t.Constraints == nil {
		return nil
	}
	var deps []string
	for _, d := range t.Constraints.DependsOn {
		if _, ok := spec.Targets[d]; ok {
			deps = append(deps, d)
		}
	}
	slices.Sort(deps)
	return slices.Compact(deps)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
