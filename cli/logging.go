package cli

import (
	"crypto/tls"
	"flag"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// bindLogFlags adds the structured logging flags (--zap-*) of every component to fs.
func bindLogFlags(fs *pflag.FlagSet, o *zap.Options) {
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	o.BindFlags(zapFlags)
	fs.AddGoFlagSet(zapFlags)
}

// setupLogger makes the logger of the --zap-* flags the process's logger.
func setupLogger(o *zap.Options) {
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(o)))
}

// metricsOptions serves /metrics on addr ("0" for none), over HTTPS with Kubernetes authentication
// and authorization when secure, with TLS 1.2 or newer and HTTP/2 off (it is exposed to the HTTP/2
// Stream Cancellation and Rapid Reset CVEs).
func metricsOptions(addr string, secure bool) metricsserver.Options {
	opts := metricsserver.Options{
		BindAddress:   addr,
		SecureServing: secure,
		TLSOpts:       []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"}; c.MinVersion = tls.VersionTLS12 }},
	}
	if secure {
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return opts
}
