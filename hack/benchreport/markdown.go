package main

import (
	"fmt"
	"strings"
	"time"
)

// markdown renders the report: a table of figures per area, each beside its aim, then the parts
// with their wall times.
func markdown(r report) string {
	var b strings.Builder
	met := 0
	for _, f := range r.Figures {
		if f.Met {
			met++
		}
	}
	fmt.Fprintf(&b, "# Aurora benchmarks\n\n")
	fmt.Fprintf(&b, "Run %s on commit `%s` (%s, %d cores) in %s; load average %s before, %s after. "+
		"%d of %d figures meet their aim.\n\n",
		r.StartedAt.Format(time.RFC3339), r.Commit, r.GoVersion, r.Cores, (time.Duration(r.Seconds) * time.Second).String(),
		r.LoadBefore, r.LoadAfter, met, len(r.Figures))
	b.WriteString("The machine may be shared with other work while the benchmarks run: each benchmark prints the CPU " +
		"used by other processes beside its figures (in latest.log), and every ratio is measured in the same run as " +
		"its floor.\n")
	area := ""
	for _, f := range r.Figures {
		if f.Area != area {
			area = f.Area
			fmt.Fprintf(&b, "\n## %s\n\n| figure | measured | aim | met | aim from |\n|---|---:|---:|:---:|---|\n", area)
		}
		mark := "yes"
		if !f.Met {
			mark = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s %s | %s | %s |\n", f.Name, number(f.Value), f.Unit, f.Aim, f.Unit, mark, f.Aim.Why)
	}
	if len(r.Missing) > 0 {
		b.WriteString("\n## Missing\n\n")
		for _, m := range r.Missing {
			fmt.Fprintf(&b, "* %s\n", m)
		}
	}
	b.WriteString("\n## Parts\n\n| part | wall time | command | result |\n|---|---:|---|---|\n")
	for _, p := range r.Parts {
		res := "ok"
		if p.Error != "" {
			res = "failed: " + p.Error
		}
		fmt.Fprintf(&b, "| %s | %.0f s | `%s` | %s |\n", p.Name, p.Seconds, strings.TrimSpace(strings.Join(p.Env, " ")+" "+strings.Join(p.Command, " ")), res)
	}
	return b.String()
}
