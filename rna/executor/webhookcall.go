package executor

import (
	"context"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/templating"
	"github.com/aurora-cd/aurora/internal/webhookcall"
)

// callWebhook makes one attempt of a due webhook call from the target cluster: the URI, headers
// and body rendered (armory variables from the execution's start to now, with callbackUri; the
// context; the tenant's secrets resolved last) and sent. It returns the call's new record (see
// webhookcall.Record). Messages never hold secrets.
func (x *execution) callWebhook(ctx context.Context, due *WebhookDue, startedAt time.Time) deployv1alpha1.WebhookCall {
	spec := &x.rollout.Spec
	armory := templating.Armory(templating.ArmoryInput{
		Start: startedAt, End: x.now, DeploymentID: spec.DeploymentName, Application: spec.Application, Environment: spec.Target,
		Account: spec.Account, Namespace: x.namespace, ReplicaSetName: x.desired, CallbackURI: CallbackURI(spec.CallbackBaseURI, due.Gate),
	})
	vars := templating.Vars{Armory: armory, Context: templating.MergeContext(spec.Context, due.Step.Context), Secrets: x.secretResolver(ctx)}
	status, err := webhookcall.Send(ctx, x.r.httpClient(), &due.Webhook, vars)
	rec := webhookcall.Record(due.Gate, &due.Webhook, due.Attempt, x.now, status, err)
	x.log.Info("Called a webhook", "gate", due.Gate, "webhook", due.Webhook.Name, "attempt", due.Attempt, "status", status, "phase", rec.Phase)
	return rec
}

// CallbackURI is a step's {{armory.callbackUri}} (see webhookcall.CallbackURI).
func CallbackURI(base, gate string) string { return webhookcall.CallbackURI(base, gate) }
