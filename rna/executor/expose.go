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
	return Step{Index: i, Kind: ExposeServices, Weight: weight, Duration: previewTTL(step), Services: append([]string(nil), step.Services...)}
}

// exposure is what one exposeServices step or blue/green condition links to: its gate, its
// Services and how long their links live.
type exposure struct {
	// gate names the step or condition: steps[i], redirectTrafficAfter[i] or shutDownOldVersionAfter[i].
	gate string
	// services are the Services to link to.
	services []string
	// ttl is how long the links live.
	ttl time.Duration
}

// canaryExposures are the exposeServices steps of a canary plan that the execution reached (the
// plan's steps up to reached, 1-based).
func canaryExposures(plan []Step, reached int32) []exposure {
	var out []exposure
	for i := 0; i < len(plan) && int32(i) < reached; i++ {
		if s := plan[i]; s.Kind == ExposeServices {
			out = append(out, exposure{gate: s.Gate(), services: s.Services, ttl: s.Duration})
		}
	}
	return out
}

// blueGreenExposures are the exposeServices conditions of the blue/green steps that the execution
// reached (up to reached, 1-based): a group's conditions all start when its step starts.
func blueGreenExposures(plan BlueGreenPlan, reached int32) []exposure {
	var out []exposure
	for i := 0; i < len(plan.Steps) && int32(i) < reached; i++ {
		for _, c := range plan.group(plan.Steps[i].Kind) {
			if e := c.Spec.ExposeServices; e != nil {
				out = append(out, exposure{gate: c.Gate, services: e.Services, ttl: previewTTL(e)})
			}
		}
	}
	return out
}

// previewTTL is how long the links of an exposeServices step or condition live: its ttl, or
// DefaultPreviewTTL.
func previewTTL(step *deployv1alpha1.ExposeServicesStep) time.Duration {
	if step.TTL != nil {
		return step.TTL.Get()
	}
	return DefaultPreviewTTL
}

// newPreviews returns the previews that the exposures need and do not have yet: one per Service,
// in namespace, expiring a TTL after now. An exposure's previews are made once: one whose gate the
// existing previews name has them.
func newPreviews(exposures []exposure, existing []deployv1alpha1.PreviewLink, namespace string, now time.Time) []deployv1alpha1.PreviewLink {
	made := map[string]bool{}
	for _, p := range existing {
		made[p.Step] = true
	}
	var out []deployv1alpha1.PreviewLink
	for _, e := range exposures {
		if made[e.gate] {
			continue
		}
		expires := metav1.NewTime(now.Add(e.ttl).Truncate(time.Second))
		for _, svc := range e.services {
			out = append(out, deployv1alpha1.PreviewLink{Service: svc, Namespace: namespace, ExpiresAt: expires, Step: e.gate})
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

// expose lists the previews of the exposures the action reached (exposeServices steps of a canary,
// exposeServices conditions of a blue/green) in the Rollout's status and has the Hub sign their
// links; links it could not get yet are asked again soon (the action requeues within
// previewRetry).
func (x *execution) expose(ctx context.Context, exposures []exposure, act *Action) {
	status := &x.rollout.Status
	added := newPreviews(exposures, status.Previews, x.namespace, x.now)
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
