package main

import (
	"regexp"
	"strconv"
	"strings"
)

// result is one benchmark's result line: its name (without the -GOMAXPROCS suffix), iterations and
// metrics by unit.
type result struct {
	Name       string             `json:"name"`
	Iterations int                `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

var (
	// benchName matches a benchmark's name at the start of a line, with its -N suffix.
	benchName = regexp.MustCompile(`^(Benchmark[^\s]+?)(-\d+)?(\s|$)`)
	// benchFigures matches the iterations and metrics of a result: "  50  15668203 ns/op  3.4 unit ...".
	benchFigures = regexp.MustCompile(`^\s*(\d+)\s+([0-9.e+]+ ns/op.*)$`)
)

// parseResults reads `go test -bench` output. A benchmark that prints while it runs splits its
// result: the name comes on one line, the figures later on another; the figures belong to the
// last name seen.
func parseResults(output string) []result {
	var out []result
	last := ""
	for line := range strings.SplitSeq(output, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := benchName.FindStringSubmatch(line); m != nil {
			last = m[1]
			line = strings.TrimSpace(line[len(m[1])+len(m[2]):])
		}
		m := benchFigures.FindStringSubmatch(line)
		if m == nil || last == "" {
			continue
		}
		iterations, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		r := result{Name: last, Iterations: iterations, Metrics: map[string]float64{}}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			r.Metrics[fields[i+1]] = v
		}
		out = append(out, r)
		last = ""
	}
	return out
}
