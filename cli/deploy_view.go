package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/aurora-cd/aurora/cli/apiclient"
)

// Status words of a pipeline that end it.
var finalStatuses = []string{"SUCCEEDED", "FAILED", "CANCELLED", "ROLLED_BACK", "REJECTED"}

// isFinal reports whether a pipeline status word ends the pipeline.
func isFinal(status string) bool { return slices.Contains(finalStatuses, status) }

// targetProgress is one target's line of the live view.
type targetProgress struct {
	Target, Status, Step, Weight, Pause, Message string
}

// progressOf reads each target's progress from a pipeline: its status, step, weight, and what it
// waits for (an approval, a timed pause).
func progressOf(p *apiclient.Pipeline) []targetProgress {
	var out []targetProgress
	for _, s := range p.Steps {
		if s.Type != "deployment" {
			continue
		}
		target := s.Ref
		tp := targetProgress{Target: target, Status: s.Status}
		if d := s.Deployment; d != nil {
			if d.Environment != "" && target == "" {
				tp.Target = d.Environment
			}
			if d.Status != "" {
				tp.Status = d.Status
			}
			if d.TotalSteps > 0 {
				tp.Step = fmt.Sprintf("%d/%d", d.Step, d.TotalSteps)
			}
			tp.Weight = fmt.Sprintf("%d%%", d.Weight)
			tp.Message = d.Message
		}
		tp.Pause = pauseOf(p, tp.Target)
		out = append(out, tp)
	}
	return out
}

// pauseOf says what a target waits for: the gates pending approval, else a running timed pause.
func pauseOf(p *apiclient.Pipeline, target string) string {
	var gates []string
	for _, a := range p.PendingApprovals {
		if a.Target == target {
			gates = append(gates, a.Gate)
		}
	}
	if len(gates) > 0 {
		return "awaiting approval (" + strings.Join(gates, ", ") + ")"
	}
	for _, s := range p.Steps {
		if s.Type != "pause" || s.Pause == nil || !(s.ConstraintFor == target || strings.HasPrefix(s.Ref, target+"/")) {
			continue
		}
		if s.Status != "RUNNING" && s.Status != "PAUSED" {
			continue
		}
		if s.Pause.Duration > 0 {
			return fmt.Sprintf("paused for %d %s", s.Pause.Duration, s.Pause.Unit)
		}
	}
	return ""
}

// progressLine renders one target's progress.
func progressLine(tp targetProgress) string {
	parts := []string{fmt.Sprintf("%-12s %-17s", tp.Target, tp.Status)}
	if tp.Step != "" {
		parts = append(parts, "step "+tp.Step)
	}
	if tp.Weight != "" {
		parts = append(parts, "weight "+tp.Weight)
	}
	if tp.Pause != "" {
		parts = append(parts, tp.Pause)
	}
	if tp.Message != "" {
		parts = append(parts, tp.Message)
	}
	return strings.Join(parts, "  ")
}

// liveView shows a pipeline's progress: redrawn in place on a terminal, and as a plain line for
// each change otherwise.
type liveView struct {
	w     io.Writer
	tty   bool
	drawn int
	last  map[string]string
	now   func() time.Time
}

// newLiveView writes to w, in place when w is a terminal.
func newLiveView(w io.Writer) *liveView {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &liveView{w: w, tty: tty, last: map[string]string{}, now: time.Now}
}

// show draws the pipeline's current state.
func (v *liveView) show(p *apiclient.Pipeline) {
	header := fmt.Sprintf("%s (%s): %s", p.ID, p.Application, p.Status)
	lines := []string{header}
	for _, tp := range progressOf(p) {
		lines = append(lines, "  "+progressLine(tp))
	}
	if v.tty {
		if v.drawn > 0 {
			fmt.Fprintf(v.w, "\x1b[%dA", v.drawn)
		}
		for _, l := range lines {
			fmt.Fprintf(v.w, "\x1b[2K\r%s\n", l)
		}
		// Clear what a longer earlier frame left below.
		for i := len(lines); i < v.drawn; i++ {
			fmt.Fprint(v.w, "\x1b[2K\n")
		}
		if v.drawn > len(lines) {
			fmt.Fprintf(v.w, "\x1b[%dA", v.drawn-len(lines))
		}
		v.drawn = len(lines)
		return
	}
	stamp := v.now().UTC().Format(time.TimeOnly)
	if v.last[""] != header {
		fmt.Fprintf(v.w, "%s %s\n", stamp, header)
		v.last[""] = header
	}
	for _, tp := range progressOf(p) {
		l := progressLine(tp)
		if v.last[tp.Target] != l {
			fmt.Fprintf(v.w, "%s   %s\n", stamp, l)
			v.last[tp.Target] = l
		}
	}
}
