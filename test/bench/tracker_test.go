package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/internal/devenv"
	"github.com/aurora-cd/aurora/internal/scheme"
)

// The tracker's keys: when something was first seen, through a watch (an informer) of the cloud
// or of a target cluster.
func cloudRolloutKey(rollout string) string         { return "cloud-rollout/" + rollout }
func cloudRolloutDoneKey(rollout string) string     { return "cloud-rollout-done/" + rollout }
func mirroredKey(target, rollout string) string     { return "mirrored/" + target + "/" + rollout }
func targetDoneKey(target, rollout string) string   { return "target-done/" + target + "/" + rollout }
func podsReadyKey(target, namespace string) string  { return "pods-ready/" + target + "/" + namespace }
func deploymentStartedKey(deployment string) string { return "deployment-started/" + deployment }
func deploymentFinalKey(deployment string) string   { return "deployment-final/" + deployment }
func floorReadyKey(target, namespace, name string) string {
	return "floor-ready/" + target + "/" + namespace + "/" + name
}

// floorPrefix starts the namespaces of the floor's direct applies.
const floorPrefix = "floor-"

// tracker records when each key was first seen, with a note (a state or a phase), and counts the
// cloud Deployments in flight: picked up by the controller (a non-empty state) and not final.
type tracker struct {
	mu      sync.Mutex
	at      map[string]time.Time
	notes   map[string]string
	waiters map[string][]chan struct{}

	inFlight map[string]bool
	done     map[string]bool
	peak     int
}

func newTracker() *tracker {
	return &tracker{at: map[string]time.Time{}, notes: map[string]string{}, waiters: map[string][]chan struct{}{},
		inFlight: map[string]bool{}, done: map[string]bool{}}
}

// mark records key at the current time, unless it was seen before.
func (t *tracker) mark(key, note string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.at[key]; ok {
		return
	}
	t.at[key], t.notes[key] = now, note
	for _, ch := range t.waiters[key] {
		close(ch)
	}
	delete(t.waiters, key)
}

// wait returns when key was first seen, and its note, waiting for it at most waitTimeout.
func (t *tracker) wait(ctx context.Context, key string) (time.Time, string, error) {
	t.mu.Lock()
	if at, ok := t.at[key]; ok {
		note := t.notes[key]
		t.mu.Unlock()
		return at, note, nil
	}
	ch := make(chan struct{})
	t.waiters[key] = append(t.waiters[key], ch)
	t.mu.Unlock()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-ctx.Done():
		return time.Time{}, "", ctx.Err()
	case <-timer.C:
		return time.Time{}, "", fmt.Errorf("%s not seen within %s", key, waitTimeout)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.at[key], t.notes[key], nil
}

// get returns when key was first seen, if it was.
func (t *tracker) get(key string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.at[key]
	return at, ok
}

// deploymentState counts a cloud Deployment in or out of flight.
func (t *tracker) deploymentState(name string, state deployv1alpha1.DeploymentState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case state.IsFinal():
		if !t.done[name] {
			t.done[name] = true
			delete(t.inFlight, name)
		}
	case state != "" && !t.done[name] && !t.inFlight[name]:
		t.inFlight[name] = true
		t.peak = max(t.peak, len(t.inFlight))
	}
}

// resetPeak returns the peak number of Deployments in flight since the last reset, and starts a new
// count from those in flight now.
func (t *tracker) resetPeak() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	peak := t.peak
	t.peak = len(t.inFlight)
	return peak
}

// watch starts informers on the cloud (Deployments and Rollouts of the tenant namespace) and on
// every target (mirrored Rollouts, ReplicaSets and apps/v1 Deployments of every namespace) that mark
// the tracker's keys, and waits until they have synced.
func (t *tracker) watch(ctx context.Context, env *devenv.Env) error {
	cloud := map[client.Object]func(client.Object){
		&deployv1alpha1.Deployment{}: func(o client.Object) {
			d := o.(*deployv1alpha1.Deployment)
			t.deploymentState(d.Name, d.Status.State)
			switch {
			case d.Status.State.IsFinal():
				t.mark(deploymentFinalKey(d.Name), string(d.Status.State))
			case d.Status.State != "" && d.Status.State != deployv1alpha1.StateQueued:
				t.mark(deploymentStartedKey(d.Name), string(d.Status.State))
			}
		},
		&rolloutv1alpha1.Rollout{}: func(o client.Object) {
			r := o.(*rolloutv1alpha1.Rollout)
			t.mark(cloudRolloutKey(r.Name), "")
			if r.Status.Phase.IsFinal() {
				t.mark(cloudRolloutDoneKey(r.Name), string(r.Status.Phase))
			}
		},
	}
	if err := startInformers(ctx, env.Cloud.Config, []string{env.TenantNamespace}, cloud); err != nil {
		return fmt.Errorf("cloud: %w", err)
	}
	for id, c := range env.Targets {
		target := map[client.Object]func(client.Object){
			&rolloutv1alpha1.Rollout{}: func(o client.Object) {
				r := o.(*rolloutv1alpha1.Rollout)
				if _, ok := r.Labels[rolloutv1alpha1.MirroredLabel]; !ok {
					return
				}
				t.mark(mirroredKey(id, r.Name), "")
				if r.Status.Phase.IsFinal() {
					t.mark(targetDoneKey(id, r.Name), string(r.Status.Phase))
				}
			},
			// Aurora's executor turns the apps/v1 Deployment into a managed ReplicaSet.
			&appsv1.ReplicaSet{}: func(o client.Object) {
				rs := o.(*appsv1.ReplicaSet)
				if !strings.HasPrefix(rs.Namespace, floorPrefix) && ptr.Deref(rs.Spec.Replicas, 1) == replicas && rs.Status.ReadyReplicas == replicas {
					t.mark(podsReadyKey(id, rs.Namespace), "")
				}
			},
			&appsv1.Deployment{}: func(o client.Object) {
				d := o.(*appsv1.Deployment)
				if strings.HasPrefix(d.Namespace, floorPrefix) && d.Status.ReadyReplicas == replicas {
					t.mark(floorReadyKey(id, d.Namespace, d.Name), "")
				}
			},
		}
		if err := startInformers(ctx, c.Config, nil, target); err != nil {
			return fmt.Errorf("target %s: %w", id, err)
		}
	}
	return nil
}

// startInformers starts a cache (of the given namespaces, or all) whose informers call the handlers
// on every add and update, and waits for it to sync.
func startInformers(ctx context.Context, cfg *rest.Config, namespaces []string, handlers map[client.Object]func(client.Object)) error {
	opts := cache.Options{Scheme: scheme.New()}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	c, err := cache.New(cfg, opts)
	if err != nil {
		return err
	}
	for obj, handle := range handlers {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("informer of %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) {
				if co, ok := o.(client.Object); ok {
					handle(co)
				}
			},
			UpdateFunc: func(_, o any) {
				if co, ok := o.(client.Object); ok {
					handle(co)
				}
			},
		}); err != nil {
			return fmt.Errorf("handler of %T: %w", obj, err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !c.WaitForCacheSync(syncCtx) {
		return fmt.Errorf("the informers did not sync")
	}
	return nil
}
