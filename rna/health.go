package rna

import (
	"errors"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// errNotConnected is the readiness failure while the tunnel is down.
var errNotConnected = errors.New("the tunnel to the hub is not connected")

// TunnelConnected is a healthz.Checker for readiness: it passes while the tunnel to the Hub is
// connected (see Connected).
func (a *Agent) TunnelConnected(_ *http.Request) error {
	if !a.Connected() {
		return errNotConnected
	}
	return nil
}

// Compile-time check that TunnelConnected is a healthz.Checker.
var _ healthz.Checker = (*Agent)(nil).TunnelConnected

// ReadyWhileStandby wraps a readiness check of a leader-only component: it passes while this
// replica is a standby (elected is open, as from manager.Elected()) and is check once the replica
// leads. Without it a standby replica would never be Ready, and a rolling update of the agent's
// Deployment would wait for it forever.
func ReadyWhileStandby(elected <-chan struct{}, check healthz.Checker) healthz.Checker {
	return func(req *http.Request) error {
		select {
		case <-elected:
			return check(req)
		default:
			return nil
		}
	}
}
