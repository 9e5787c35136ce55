package fault_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/internal/scheme"
)

// applyAudit watches the mirrored Rollouts of the target cluster and records, per cloud Rollout
// uid, every spec write the agent made there: each new metadata.generation of the target object,
// with the cloud generation it carried. A change applied twice shows as two target generations for
// one cloud generation; a lost change as a cloud generation that never arrives.
type applyAudit struct {
	mu     sync.Mutex
	writes map[string][]applyWrite // by cloud uid
}

// applyWrite is one spec write seen in the target.
type applyWrite struct {
	targetUID        string
	targetGeneration int64
	cloudGeneration  int64
}

// startApplyAudit starts the watch until the suite ends.
func startApplyAudit(ctx context.Context) *applyAudit {
	GinkgoHelper()
	a := &applyAudit{writes: map[string][]applyWrite{}}
	c, err := cache.New(target.Config, cache.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())
	inf, err := c.GetInformer(ctx, &rolloutv1alpha1.Rollout{})
	Expect(err).NotTo(HaveOccurred())
	record := func(o any) {
		if r, ok := o.(*rolloutv1alpha1.Rollout); ok {
			a.record(r)
		}
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: record, UpdateFunc: func(_, o any) { record(o) }})
	Expect(err).NotTo(HaveOccurred())
	watchCtx, cancel := context.WithCancel(context.Background())
	DeferCleanup(cancel)
	go func() { _ = c.Start(watchCtx) }()
	Expect(c.WaitForCacheSync(ctx)).To(BeTrue())
	return a
}

// record notes a target Rollout's generation, once per (target uid, generation).
func (a *applyAudit) record(r *rolloutv1alpha1.Rollout) {
	uid := r.Annotations[rolloutv1alpha1.CloudUIDAnnotation]
	if uid == "" {
		return
	}
	cloudGeneration, _ := strconv.ParseInt(r.Annotations[rolloutv1alpha1.CloudGenerationAnnotation], 10, 64)
	w := applyWrite{targetUID: string(r.UID), targetGeneration: r.Generation, cloudGeneration: cloudGeneration}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, seen := range a.writes[uid] {
		if seen.targetUID == w.targetUID && seen.targetGeneration == w.targetGeneration {
			return
		}
	}
	a.writes[uid] = append(a.writes[uid], w)
}

// expectExactlyOnce checks that every cloud generation of the Rollout in the target was written
// there once, and that the target holds the cloud's latest generation.
func (a *applyAudit) expectExactlyOnce(cloudRO *rolloutv1alpha1.Rollout) {
	GinkgoHelper()
	Eventually(func() int64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		latest := int64(0)
		for _, w := range a.writes[string(cloudRO.UID)] {
			latest = max(latest, w.cloudGeneration)
		}
		return latest
	}).WithTimeout(30*time.Second).Should(Equal(cloudRO.Generation), "Rollout %s: the target holds the latest generation", cloudRO.Name)
	a.mu.Lock()
	writes := slices.Clone(a.writes[string(cloudRO.UID)])
	a.mu.Unlock()
	perCloudGeneration := map[int64]int{}
	for _, w := range writes {
		perCloudGeneration[w.cloudGeneration]++
	}
	for generation, n := range perCloudGeneration {
		Expect(n).To(Equal(1), "Rollout %s: cloud generation %d was written %d times in the target: %+v", cloudRO.Name, generation, n, writes)
	}
	AddReportEntry(fmt.Sprintf("applies of %s in the target", cloudRO.Name), fmt.Sprintf("%+v", writes))
}
