package executor

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestSplitReplicas(t *testing.T) {
	tests := []struct {
		full, weight int32
		hasStable    bool
		want         Split
	}{
		{10, 25, true, Split{New: 3, Stable: 7}}, // ceil(2.5)
		{10, 50, true, Split{New: 5, Stable: 5}},
		{10, 33, true, Split{New: 4, Stable: 6}}, // ceil(3.3)
		{10, 66, true, Split{New: 7, Stable: 3}}, // ceil(6.6)
		{10, 100, true, Split{New: 10, Stable: 0}},
		{10, 0, true, Split{New: 0, Stable: 10}},
		{10, 1, true, Split{New: 1, Stable: 9}}, // any weight above 0 runs a new pod
		{3, 34, true, Split{New: 2, Stable: 1}},
		{1, 50, true, Split{New: 1, Stable: 0}},
		{0, 50, true, Split{}},
		{100, 33, true, Split{New: 33, Stable: 67}},
		{10, 25, false, Split{New: 10}}, // nothing stable: the new version runs everything
		{10, 0, false, Split{New: 10}},
		{10, 150, true, Split{New: 10}},
		{10, -5, true, Split{Stable: 10}},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(SplitReplicas(tt.full, tt.weight, tt.hasStable)).To(Equal(tt.want), "%d replicas at %d%% (stable: %v)", tt.full, tt.weight, tt.hasStable)
	}
}
