package cli

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// authOptions are the flags of `aurora auth`.
type authOptions struct {
	kubeconfig        string
	listen            string
	issuer            string
	audiences         []string
	tlsCertFile       string
	tlsKeyFile        string
	masterKeyFile     string
	keysNamespace     string
	keysSecret        string
	tokenLifetime     time.Duration
	keyRotationPeriod time.Duration
	limits            auth.RateLimits
	zap               zap.Options

	consoleRedirectURIs  []string
	oidcClientsFile      string
	upstreamsFile        string
	bootstrapAdmin       string
	refreshTokenLifetime time.Duration
	deviceCodeLifetime   time.Duration
	devicePollInterval   time.Duration
}

func newAuthCommand() *cobra.Command {
	opts := authOptions{}
	cmd := &cobra.Command{
		Use:     "auth",
		GroupID: groupComponents,
		Short:   "Run the OIDC auth service",
		Long: "Runs Aurora's OpenID Connect provider over HTTPS (TLS 1.2 or newer): the discovery document\n" +
			"(/.well-known/openid-configuration), the JWKS (/.well-known/jwks.json) and the token endpoint\n" +
			"(/oauth/token: the client-credentials grant with client_secret_basic or client_secret_post for\n" +
			"machines; authorization code, device code and refresh token for people).\n\n" +
			"Machines are the MachineCredentials of the cloud cluster. People are the Users of the cloud\n" +
			"cluster (password hashes in Secrets aurora-user-<name> of --keys-namespace) or come from their\n" +
			"organization's upstream OIDC provider (--upstream-idps-file); they log in with the device flow\n" +
			"(client aurora-cli: /oauth/device/code, the page /device) or authorization code with PKCE\n" +
			"(client aurora-console: /oauth/authorize), and keep their login with rotating refresh tokens.\n" +
			"Tokens are ES256 JWTs carrying the principal (type, organization, environment, name, scopes,\n" +
			"roles, tenants). The signing keys are kept in a Secret, sealed with AES-256-GCM under the master\n" +
			"key, rotated on a schedule; replicas share them, and the pending logins, in the Kubernetes API.",
		Example: "  aurora auth --issuer https://auth.aurora.example --tls-cert-file tls.crt --tls-key-file tls.key \\\n" +
			"    --master-key-file /etc/aurora/master-key",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAuth(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "Kubeconfig of the cloud cluster (default: $KUBECONFIG, ~/.kube/config or in-cluster).")
	f.StringVar(&opts.listen, "listen-address", ":8443", "Address to serve HTTPS on.")
	f.StringVar(&opts.issuer, "issuer", "", "Public https URL of the service: the iss of every token and the base of discovery (required).")
	f.StringSliceVar(&opts.audiences, "audience", []string{auth.DefaultAudience}, "Audiences clients may ask for; the first is the default.")
	f.StringVar(&opts.tlsCertFile, "tls-cert-file", "", "PEM certificate (chain) to serve (required).")
	f.StringVar(&opts.tlsKeyFile, "tls-key-file", "", "PEM private key of the certificate (required).")
	f.StringVar(&opts.masterKeyFile, "master-key-file", "", "File holding the 32-byte master key, base64 or hex, that seals the signing keys (required).")
	f.StringVar(&opts.keysNamespace, "keys-namespace", "aurora-system", "Namespace of the service's Secrets: the sealed signing keys, the users' password hashes, pending logins and refresh tokens.")
	f.StringVar(&opts.keysSecret, "keys-secret", "aurora-auth-signing-keys", "Name of the Secret holding the sealed signing keys.")
	f.DurationVar(&opts.tokenLifetime, "token-lifetime", auth.DefaultTokenLifetime, "How long an access token is valid.")
	f.DurationVar(&opts.keyRotationPeriod, "key-rotation-period", 24*time.Hour, "How long a signing key signs before the next one takes over.")
	f.Float64Var(&opts.limits.RequestsPerSecond, "rate-requests-per-second", 20, "Token requests per second allowed from one address.")
	f.IntVar(&opts.limits.RequestBurst, "rate-request-burst", 40, "Burst of token requests allowed from one address.")
	f.Float64Var(&opts.limits.FailuresPerMinute, "rate-client-failures-per-minute", 5, "Failed authentications per minute allowed for one client id before it is locked out.")
	f.IntVar(&opts.limits.FailureBurst, "rate-client-failure-burst", 10, "Burst of failed authentications allowed for one client id.")
	f.Float64Var(&opts.limits.AddressFailuresPerMinute, "rate-address-failures-per-minute", 30, "Failed authentications per minute allowed from one address.")
	f.IntVar(&opts.limits.AddressFailureBurst, "rate-address-failure-burst", 60, "Burst of failed authentications allowed from one address.")
	f.StringSliceVar(&opts.consoleRedirectURIs, "console-redirect-uri", nil, "Redirect URIs of the Console (client aurora-console), exact https URLs; repeatable.")
	f.StringVar(&opts.oidcClientsFile, "oidc-clients-file", "", "YAML list of confidential OIDC clients {clientId, clientSecretFile, redirectURIs}, such as another Aurora using this one as its identity provider.")
	f.StringVar(&opts.upstreamsFile, "upstream-idps-file", "", "YAML list of upstream identity providers {organization, displayName, issuer, clientId, clientSecretFile, rolesClaim, scopes}, one per organization.")
	f.StringVar(&opts.bootstrapAdmin, "bootstrap-admin", "", "<organization>/<user>: on a fresh install, create this organization admin; its generated password is written once to the Secret aurora-bootstrap-admin of --keys-namespace.")
	f.DurationVar(&opts.refreshTokenLifetime, "refresh-token-lifetime", auth.DefaultRefreshTokenLifetime, "How long a person's refresh token may be used (once; each use issues a new one).")
	f.DurationVar(&opts.deviceCodeLifetime, "device-code-lifetime", auth.DefaultDeviceCodeLifetime, "How long a person has to enter a device's user code.")
	f.DurationVar(&opts.devicePollInterval, "device-poll-interval", auth.DefaultDevicePollInterval, "How often a device may poll for its token (whole seconds).")
	bindLogFlags(f, &opts.zap)
	for _, required := range []string{"issuer", "tls-cert-file", "tls-key-file", "master-key-file"} {
		_ = cmd.MarkFlagRequired(required)
	}
	return cmd
}

func runAuth(cmd *cobra.Command, opts authOptions) error {
	setupLogger(&opts.zap)
	keyText, err := os.ReadFile(opts.masterKeyFile)
	if err != nil {
		return fmt.Errorf("--master-key-file: %w", err)
	}
	masterKey, err := envelope.ParseMasterKey(string(keyText))
	if err != nil {
		return fmt.Errorf("--master-key-file %s: %w", opts.masterKeyFile, err)
	}
	certPEM, err := os.ReadFile(opts.tlsCertFile)
	if err != nil {
		return fmt.Errorf("--tls-cert-file: %w", err)
	}
	keyPEM, err := os.ReadFile(opts.tlsKeyFile)
	if err != nil {
		return fmt.Errorf("--tls-key-file: %w", err)
	}
	tlsConfig, err := tlsutil.ServerConfig(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("--tls-cert-file/--tls-key-file: %w", err)
	}
	people, err := peopleConfig(opts)
	if err != nil {
		return err
	}
	cfg, err := restConfig(opts.kubeconfig)
	if err != nil {
		return err
	}
	server, err := auth.NewServer(cmd.Context(), auth.ServerConfig{
		Kubernetes: cfg, Issuer: opts.issuer, Audiences: opts.audiences, TokenLifetime: opts.tokenLifetime,
		RateLimits: opts.limits, KeysNamespace: opts.keysNamespace, KeysSecret: opts.keysSecret,
		MasterKey: masterKey, KeyRotationPeriod: opts.keyRotationPeriod, TLS: tlsConfig, People: people,
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("--listen-address: %w", err)
	}
	return server.Serve(cmd.Context(), l)
}

// peopleConfig reads the flags and files that configure people's logins.
func peopleConfig(opts authOptions) (auth.PeopleConfig, error) {
	p := auth.PeopleConfig{ConsoleRedirectURIs: opts.consoleRedirectURIs, RefreshTokenLifetime: opts.refreshTokenLifetime,
		DeviceCodeLifetime: opts.deviceCodeLifetime, DevicePollInterval: opts.devicePollInterval}
	var err error
	if opts.oidcClientsFile != "" {
		if p.OIDCClients, err = auth.LoadOIDCClients(opts.oidcClientsFile); err != nil {
			return p, fmt.Errorf("--oidc-clients-file: %w", err)
		}
	}
	if opts.upstreamsFile != "" {
		if p.Upstreams, err = auth.LoadUpstreams(opts.upstreamsFile); err != nil {
			return p, fmt.Errorf("--upstream-idps-file: %w", err)
		}
	}
	if opts.bootstrapAdmin != "" {
		org, name, ok := strings.Cut(opts.bootstrapAdmin, "/")
		if !ok || org == "" || name == "" {
			return p, fmt.Errorf("--bootstrap-admin %q: want <organization>/<user>, such as acme/admin", opts.bootstrapAdmin)
		}
		p.BootstrapOrganization, p.BootstrapAdmin = org, name
	}
	return p, nil
}
