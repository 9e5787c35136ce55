package deployment

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/templating"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
	"github.com/aurora-cd/aurora/internal/webhookcall"
)

// SecretStoreName is the Secret of a tenant namespace whose keys are the {{secrets.<key>}} of the
// constraint webhooks the controller calls, each value sealed (see internal/tenantsecrets). It is
// read at the moment of a call, never copied.
const SecretStoreName = tenantsecrets.StoreName

// webhookRequeue is how soon a deployment is looked at again after a webhook call.
const webhookRequeue = 200 * time.Millisecond

// callWebhooks makes the due calls of constraint webhook gates from the control plane and records
// them in the plan's target statuses. It reports whether it made any.
func (r *Reconciler) callWebhooks(ctx context.Context, d *deployv1alpha1.Deployment, plan *Plan, now time.Time) bool {
	if len(plan.WebhookCalls) == 0 {
		return false
	}
	log := ctrl.LoggerFrom(ctx)
	// The cache may not have the status that recorded an attempt yet: read it back, so that an
	// attempt is not made twice.
	fresh := &deployv1alpha1.Deployment{}
	if err := r.reader().Get(ctx, client.ObjectKeyFromObject(d), fresh); err != nil {
		log.Error(err, "Reading the deployment before calling its webhooks; calling later")
		return true
	}
	secrets := r.secretResolver(ctx, d.Namespace)
	called := false
	for _, due := range plan.WebhookCalls {
		if rec := attempted(fresh, due); rec != nil {
			recordInPlan(plan, due.Target, *rec)
			continue
		}
		called = true
		// The attempt is recorded before the call: a callback may come back before this pass
		// ends, and the Judgment it makes must find the deployment started and the gate calling.
		if !startedIn(fresh, due.Target) {
			continue
		}
		if err := r.recordAttempt(ctx, fresh, due, now); err != nil {
			log.Info("Recording a webhook attempt failed; calling later", "gate", due.Gate, "error", err.Error())
			continue
		}
		t := d.Spec.Targets[due.Target]
		armory := templating.Armory(templating.ArmoryInput{
			Start: due.Start, End: now, DeploymentID: d.Name, Application: d.Spec.Application, Environment: due.Target,
			Account: t.Account, Namespace: t.Namespace, ReplicaSetName: due.ReplicaSetName,
			CallbackURI: webhookcall.CallbackURI(CallbackBaseURI(r.APIURL, d.Name, due.Target), due.Gate),
		})
		vars := templating.Vars{Armory: armory, Context: templating.MergeContext(d.Spec.ContextOverrides, due.Step.Context), Secrets: secrets}
		status, err := webhookcall.Send(ctx, r.httpClient(), &due.Webhook, vars)
		rec := webhookcall.Record(due.Gate, &due.Webhook, due.Attempt, now, status, err)
		log.Info("Called a constraint webhook", "target", due.Target, "gate", due.Gate, "webhook", due.Webhook.Name,
			"attempt", due.Attempt, "status", status, "phase", rec.Phase)
		recordInPlan(plan, due.Target, rec)
	}
	return called
}

// attempted returns the record of d's status for the attempt due names (or a later one), if any.
func attempted(d *deployv1alpha1.Deployment, due DueWebhookCall) *deployv1alpha1.WebhookCall {
	for _, ts := range d.Status.Targets {
		if ts.Name == due.Target {
			if c := findCall(ts.Webhooks, due.Gate); c != nil && c.Attempts >= due.Attempt {
				return c
			}
		}
	}
	return nil
}

// startedIn reports whether d's status (as stored) shows the deployment and the target started.
func startedIn(d *deployv1alpha1.Deployment, target string) bool {
	if d.Status.StartedAt == nil {
		return false
	}
	for _, ts := range d.Status.Targets {
		if ts.Name == target {
			return ts.StartedAt != nil
		}
	}
	return false
}

// recordAttempt writes into d's stored status that the attempt due names is being made.
func (r *Reconciler) recordAttempt(ctx context.Context, d *deployv1alpha1.Deployment, due DueWebhookCall, now time.Time) error {
	base := d.DeepCopy()
	for i := range d.Status.Targets {
		if ts := &d.Status.Targets[i]; ts.Name == due.Target {
			ts.Webhooks = recordCall(ts.Webhooks, deployv1alpha1.WebhookCall{Gate: due.Gate, Name: due.Webhook.Name, Attempts: due.Attempt,
				CalledAt: timePtr(now), Phase: deployv1alpha1.WebhookCalling})
		}
	}
	if err := r.Status().Patch(ctx, d, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("recording attempt %d of webhook %s of %s: %w", due.Attempt, due.Webhook.Name, due.Gate, err)
	}
	return nil
}

// recordInPlan records a call in its target's planned status.
func recordInPlan(plan *Plan, target string, rec deployv1alpha1.WebhookCall) {
	for i := range plan.Targets {
		if ts := &plan.Targets[i].Status; ts.Name == target {
			ts.Webhooks = recordCall(ts.Webhooks, rec)
			if rec.Phase == deployv1alpha1.WebhookAwaitingCallback {
				ts.Message = fmt.Sprintf("waiting for the callback of webhook %s of %s", rec.Name, rec.Gate)
			}
		}
	}
}

// secretResolver resolves {{secrets.<key>}} from the tenant namespace's sealed secret store, read
// once (uncached) at the first secret a template uses. Without a master key every secret fails with
// an error that says so.
func (r *Reconciler) secretResolver(ctx context.Context, namespace string) templating.Secrets {
	store := &tenantsecrets.Store{Client: r.Client, Reader: r.reader(), Sealer: r.Sealer}
	return store.Resolver(ctx, namespace)
}

func (r *Reconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *Reconciler) httpClient() *http.Client {
	if r.HTTPClient != nil {
		return r.HTTPClient
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: webhookcall.Timeout, Transport: t}
}
