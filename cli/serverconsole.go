package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/pflag"

	"github.com/aurora-cd/aurora/server/console"
)

// consoleOptions are the flags of `aurora server` about the Console.
type consoleOptions struct {
	enabled     bool
	issuerURL   string
	apiURL      string
	clientID    string
	redirectURL string
}

func bindConsoleFlags(f *pflag.FlagSet, o *consoleOptions) {
	f.BoolVar(&o.enabled, "console", true, "Serve the Console (the web UI) at /console/.")
	f.StringVar(&o.issuerURL, "console-issuer-url", "", "https URL of the auth service as browsers reach it (default: --issuer).")
	f.StringVar(&o.apiURL, "console-api-url", "", "https URL of this API as browsers reach it (default: the origin that serves the Console).")
	f.StringVar(&o.clientID, "console-client-id", console.DefaultClientID, "Public OAuth client of the Console in the auth service.")
	f.StringVar(&o.redirectURL, "console-redirect-url", "", "Redirect URI the auth service sends browsers back to (default: <console origin>/console/); register it with aurora auth.")
}

// consoleHandler is the Console configured by the flags, or nil when --console=false.
func consoleHandler(o consoleOptions, issuer string) (http.Handler, error) {
	if !o.enabled {
		return nil, nil
	}
	if o.issuerURL == "" {
		o.issuerURL = issuer
	}
	h, err := console.New(console.Config{Issuer: o.issuerURL, APIURL: o.apiURL, ClientID: o.clientID, RedirectURL: o.redirectURL})
	if err != nil {
		return nil, fmt.Errorf("--console-*: %w", err)
	}
	return h, nil
}
