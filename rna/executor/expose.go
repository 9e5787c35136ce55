package executor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

// DefaultPreviewTTL is how long the links of an exposeServices step without ttl live.
const DefaultPreviewTTL = 5 * time.Minute

// previewRetry is how soon links the Hub has not signed yet (the tunnel is down) are asked again.
const previewRetry = 5 * time.Second

// PreviewLinker signs preview links: the agent asks the Hub through its tunnel. It fails while the
// agent is not connected.
type PreviewLinker interface {
	// PreviewLinks returns a link per Service, in order, valid until each one's expiry.
	PreviewLinks(ctx context.Context, previews []tunnelhttp.PreviewLinkRequest) ([]string, error)
}

// exposeStep is the plan's step of an exposeServices step at index i, run at weight.
func exposeStep(i int, weight int32, step *deployv1alpha1.ExposeServicesStep) Step {
	ttl := DefaultPreviewTTL
	if step.TTL != nil {
		ttl = step.TTL.Get()
	}
	return Step{Index: i, Kind: ExposeServices, Weight: weight, Duration: ttl, Services: append([]string(nil), step.Services...)}
}

// newPreviews returns the previews that the exposeServices steps reached so far (the plan's steps up
// to reached, 1-based) need and do not have yet: one per Service, in namespace, expiring a TTL
// after now. A step's previews are made once: a step whose gate the existing previews name has them.
func newPreviews(plan []Step, reached int32, existing []deployv1alpha1.PreviewLink, namespace string, now time.Time) []deployv1alpha1.PreviewLink {
	made := map[string]bool{}
	for _, p := range existing {
		made[p.Step] = true
	}
	var out []deployv1alpha1.PreviewLink
	for i := 0; i < len(plan) && int32(i) < reached; i++ {
		step := plan[i]
		if step.Kind != ExposeServices || made[step.Gate()] {
			continue
		}
		expires := metav1.NewTime(now.Add(step.Duration).Truncate(time.Second))
		for _, svc := range step.Services {
			out = append(out, deployv1alpha1.PreviewLink{Service: svc, Namespace: namespace, ExpiresAt: expires, Step: step.Gate()})
		}
	}
	return out
}

// unsigned returns the indexes of the previews that have no URL yet and have not expired at now.
func unsigned(previews []deployv1alpha1.PreviewLink, now time.Time) []int {
	var out []int
	for i, p := range previews {
		if p.URL == "" && now.Before(p.ExpiresAt.Time) {
			out = append(out, i)
		}
	}
	return out
}

// expose lists the previews of the exposeServices steps the action reached in the Rollout's status
// and has the Hub sign their links; links it could not get yet are asked again soon (the action
// requeues within previewRetry).
func (x *execution) expose(ctx context.Context, plan []Step, act *Action) {
	status := &x.rollout.Status
	added := newPreviews(plan, act.State.Step, status.Previews, x.namespace, x.now)
	for _, p := range added {
		svc := &corev1.Service{}
		if err := x.r.Client.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Service}, svc); err != nil || len(svc.Spec.Ports) != 1 {
			msg := fmt.Sprintf("%s: service %s/%s must exist and have a single port for its preview link", p.Step, p.Namespace, p.Service)
			x.r.event(x.rollout, corev1.EventTypeWarning, "PreviewNotReachable", "Expose", msg)
		}
	}
	status.Previews = append(status.Previews, added...)
	pending := unsigned(status.Previews, x.now)
	if len(pending) == 0 || x.r.Previews == nil {
		return
	}
	requests := make([]tunnelhttp.PreviewLinkRequest, len(pending))
	for j, i := range pending {
		p := status.Previews[i]
		requests[j] = tunnelhttp.PreviewLinkRequest{Namespace: p.Namespace, Service: p.Service, ExpiresAt: p.ExpiresAt.Time}
	}
	urls, err := x.r.Previews.PreviewLinks(ctx, requests)
	if err != nil {
		x.log.Info("The hub did not sign the preview links yet; asking again soon", "error", err.Error())
		if act.RequeueAfter == 0 || act.RequeueAfter > previewRetry {
			act.RequeueAfter = previewRetry
		}
		return
	}
	for j, i := range pending {
		status.Previews[i].URL = urls[j]
	}
	x.log.Info("Preview links ready", "count", len(pending))
}
