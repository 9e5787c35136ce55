package main

import (
	"strings"
	"testing"
)

func TestParseResults(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   []result
	}{
		{
			name:   "name and figures on one line",
			output: "goos: linux\nBenchmarkCanary/replicas=10-2   \t       3\t 952873523 ns/op\t       455.1 p50-floor-ms\t         1.508 ratio-x\nPASS\n",
			want: []result{{Name: "BenchmarkCanary/replicas=10", Iterations: 3,
				Metrics: map[string]float64{"ns/op": 952873523, "p50-floor-ms": 455.1, "ratio-x": 1.508}}},
		},
		{
			name:   "a table printed between the name and the figures",
			output: "BenchmarkHubTunnels-2   \t\n=== Hub benchmark: 100 agents\ntunnels held: 100\n\n      50\t  15668203 ns/op\t  100.0 tunnels\n",
			want:   []result{{Name: "BenchmarkHubTunnels", Iterations: 50, Metrics: map[string]float64{"ns/op": 15668203, "tunnels": 100}}},
		},
		{
			name:   "a parent benchmark without figures, then its sub-benchmark",
			output: "BenchmarkCanary\nBenchmarkCanary/replicas=100-2 \t 3\t 3835882256 ns/op\t 1.189 ratio-x\n",
			want: []result{{Name: "BenchmarkCanary/replicas=100", Iterations: 3,
				Metrics: map[string]float64{"ns/op": 3835882256, "ratio-x": 1.189}}},
		},
		{name: "figures without a benchmark are ignored", output: "   3  100 ns/op\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseResults(tt.output)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d results %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || got[i].Iterations != tt.want[i].Iterations {
					t.Errorf("result %d: got %s×%d, want %s×%d", i, got[i].Name, got[i].Iterations, tt.want[i].Name, tt.want[i].Iterations)
				}
				for unit, v := range tt.want[i].Metrics {
					if got[i].Metrics[unit] != v {
						t.Errorf("result %d: %s = %v, want %v", i, unit, got[i].Metrics[unit], v)
					}
				}
			}
		})
	}
}

func TestMakeFigures(t *testing.T) {
	r := result{Name: "BenchmarkCanary/replicas=100", Metrics: map[string]float64{"p50-succeeded-ms": 2733, "p50-floor-ms": 2299, "ratio-x": 1.6}}
	figs, missing := makeFigures(r.Name, r, canarySpecs(100))
	if len(missing) != 0 {
		t.Fatalf("missing %v", missing)
	}
	want := map[string]struct {
		value float64
		met   bool
	}{
		"Create → SUCCEEDED p50":              {2.733, true},
		"floor: same steps by direct SSA p50": {2.299, true},
		"ratio Aurora / floor (same run)":     {1.6, false},
	}
	for _, f := range figs {
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected figure %q", f.Name)
			continue
		}
		if f.Value != w.value || f.Met != w.met {
			t.Errorf("%s: got %v met=%v, want %v met=%v", f.Name, f.Value, f.Met, w.value, w.met)
		}
	}
	_, missing = makeFigures("x", result{Metrics: map[string]float64{}}, hubSpecs(100))
	if len(missing) != len(hubSpecs(100)) || !strings.Contains(missing[0], `no metric "tunnels"`) {
		t.Errorf("missing metrics: got %v", missing)
	}
}

func TestAim(t *testing.T) {
	for _, tt := range []struct {
		aim  aim
		v    float64
		want bool
	}{
		{aim{AtMost: true, Value: 10}, 10, true},
		{aim{AtMost: true, Value: 10}, 10.5, false},
		{aim{AtMost: false, Value: 100}, 100, true},
		{aim{AtMost: false, Value: 100}, 99, false},
	} {
		if got := tt.aim.met(tt.v); got != tt.want {
			t.Errorf("%s met by %v: got %v, want %v", tt.aim, tt.v, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	if _, err := parseFlags([]string{"-agents", "100,x"}); err == nil || !strings.Contains(err.Error(), "-agents") {
		t.Errorf("bad -agents: got %v", err)
	}
	if _, err := parseFlags([]string{"-only", "hub,nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("bad -only: got %v", err)
	}
	o, err := parseFlags([]string{"-only", "hub", "-agents", "10"})
	if err != nil {
		t.Fatal(err)
	}
	parts := plan(o)
	if len(parts) != 1 || parts[0].Name != "hub-10" {
		t.Errorf("plan: got %+v", parts)
	}
}
