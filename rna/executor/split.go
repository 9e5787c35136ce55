package executor

// Split is how many replicas each version runs at a weight.
type Split struct {
	// New is the new version's replicas.
	New int32
	// Stable is the stable version's replicas.
	Stable int32
}

// SplitReplicas splits full replicas at weight percent: the new version gets
// ceil(full × weight / 100), so any weight above 0 runs at least one new pod, and the stable version
// the rest. Without a stable version the new one runs full replicas at any weight.
func SplitReplicas(full, weight int32, hasStable bool) Split {
	if full < 0 {
		full = 0
	}
	if !hasStable {
		return Split{New: full}
	}
	weight = min(max(weight, 0), 100)
	n := (int64(full)*int64(weight) + 99) / 100
	return Split{New: int32(n), Stable: full - int32(n)}
}
