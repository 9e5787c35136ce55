// Package rna is the Remote Network Agent that runs in a target cluster: the tunnel client that
// dials the Hub, the applier of mirrored Rollouts, the Rollout executor (canary, blue/green,
// analysis, webhooks, rollback) and the inventory reporter.
package rna
