package verify

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults for Options left zero.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway caps Options.Leeway: tokens are short-lived, a large leeway would defeat that.
	MaxLeeway = 5 * time.Minute
	// DefaultHTTPTimeout bounds each discovery and JWKS request of the default HTTP client.
	DefaultHTTPTimeout = 10 * time.Second
)

// asymmetricAlgorithms are the signature algorithms a Verifier may be configured with: public-key
// algorithms only. "none" and the HMAC algorithms (HS256/384/512) are absent on purpose: with HMAC,
// anyone holding the issuer's public key could mint tokens.
var asymmetricAlgorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512,
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// Options configure a Verifier.
type Options struct {
	// IssuerURL is the issuer, an absolute https URL. Discovery reads
	// IssuerURL + "/.well-known/openid-configuration", whose issuer must equal IssuerURL exactly,
	// and every token's iss claim must equal it too.
	IssuerURL string
	// Audience is required: a token's aud claim must contain it.
	Audience string
	// HTTPClient fetches the discovery document and the JWKS. Nil means a client with
	// DefaultHTTPTimeout; tests pass one that trusts their TLS CA.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat; zero means DefaultLeeway, and more than
	// MaxLeeway is refused.
	Leeway time.Duration
	// Algorithms is the allow-list of signature algorithms; empty means [ES256]. "none" and HMAC
	// algorithms are refused.
	Algorithms []jose.SignatureAlgorithm
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// withDefaults validates opts and returns a copy with every zero field defaulted.
func (opts Options) withDefaults() (Options, error) {
	if opts.IssuerURL == "" {
		return opts, fmt.Errorf("%w: IssuerURL is required", ErrInvalidOptions)
	}
	issuer, err := url.Parse(opts.IssuerURL)
	if err != nil {
		return opts, fmt.Errorf("%w: IssuerURL: %w", ErrInvalidOptions, err)
	}
	if issuer.Scheme != "https" || issuer.Host == "" || issuer.RawQuery != "" || issuer.Fragment != "" {
		return opts, fmt.Errorf("%w: IssuerURL %q must be an absolute https URL without query or fragment",
			ErrInvalidOptions, opts.IssuerURL)
	}
	if opts.Audience == "" {
		return opts, fmt.Errorf("%w: Audience is required", ErrInvalidOptions)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	switch {
	case opts.Leeway == 0:
		opts.Leeway = DefaultLeeway
	case opts.Leeway < 0 || opts.Leeway > MaxLeeway:
		return opts, fmt.Errorf("%w: Leeway %s is outside (0, %s]", ErrInvalidOptions, opts.Leeway, MaxLeeway)
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = []jose.SignatureAlgorithm{jose.ES256}
	}
	for _, alg := range opts.Algorithms {
		if !slices.Contains(asymmetricAlgorithms, alg) {
			return opts, fmt.Errorf("%w: signature algorithm %q is not an allowed asymmetric algorithm",
				ErrInvalidOptions, alg)
		}
	}
	opts.Algorithms = slices.Clone(opts.Algorithms)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}
