package keys

import (
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Defaults of Options.
const (
	// DefaultRotationPeriod is how long a key signs before the next one takes over.
	DefaultRotationPeriod = 24 * time.Hour
	// DefaultReloadInterval is how often Run rereads the Secret.
	DefaultReloadInterval = time.Minute
	// DefaultLeeway is the allowance for clock skew between replicas and verifiers.
	DefaultLeeway = 5 * time.Minute
)

// Options configure a Manager.
type Options struct {
	// Client reads and writes the Secret. Its reads should go to the API server (a client from
	// client.New, not a manager's cached client), so that replicas see each other's writes at once.
	Client client.Client
	// Namespace is the Secret's namespace.
	Namespace string
	// SecretName is the Secret's name.
	SecretName string
	// MasterKey is the 32-byte key that seals the private keys (see envelope.ParseMasterKey).
	// NewManager does not keep the slice.
	MasterKey []byte
	// RotationPeriod is how long a key signs before a new one takes over. Default: DefaultRotationPeriod.
	RotationPeriod time.Duration
	// TokenLifetime is the longest lifetime of a token the keys sign. Required: a retired key stays
	// published until every token it signed has expired.
	TokenLifetime time.Duration
	// ReloadInterval is how often Run rereads the Secret (and rotates when due). It also bounds how
	// long another replica may go on signing with a key after it was retired. Default:
	// DefaultReloadInterval.
	ReloadInterval time.Duration
	// Leeway is added to the publication times for clock skew. Default: DefaultLeeway.
	Leeway time.Duration
	// Now returns the current time; tests set it to drive rotation. Default: time.Now.
	Now func() time.Time
}

// withDefaults returns the options with defaults filled in, or an error naming what is missing or
// invalid. It never mentions the master key's content.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Client == nil:
		return o, errors.New("no Client")
	case o.Namespace == "":
		return o, errors.New("no Namespace")
	case o.SecretName == "":
		return o, errors.New("no SecretName")
	case o.TokenLifetime <= 0:
		return o, fmt.Errorf("TokenLifetime %s is not positive", o.TokenLifetime)
	case o.RotationPeriod < 0:
		return o, fmt.Errorf("RotationPeriod %s is negative", o.RotationPeriod)
	case o.ReloadInterval < 0:
		return o, fmt.Errorf("ReloadInterval %s is negative", o.ReloadInterval)
	case o.Leeway < 0:
		return o, fmt.Errorf("Leeway %s is negative", o.Leeway)
	}
	if o.RotationPeriod == 0 {
		o.RotationPeriod = DefaultRotationPeriod
	}
	if o.ReloadInterval == 0 {
		o.ReloadInterval = DefaultReloadInterval
	}
	if o.Leeway == 0 {
		o.Leeway = DefaultLeeway
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// publishAhead is how long a next key is published before it may start signing.
func (o Options) publishAhead() time.Duration {
	return o.ReloadInterval + o.Leeway
}

// retention is how long a retired key stays published after its retirement.
func (o Options) retention() time.Duration {
	return o.ReloadInterval + o.TokenLifetime + o.Leeway
}
