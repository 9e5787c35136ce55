package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxDocumentBytes bounds the discovery document and the JWKS read from the issuer.
const maxDocumentBytes = 1 << 20

// discoveryPath is appended to the issuer URL to find its OpenID Provider configuration.
const discoveryPath = "/.well-known/openid-configuration"

// providerMetadata holds the discovery document fields the verifier uses.
type providerMetadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discover fetches and checks the issuer's discovery document and returns its JWKS URL.
func discover(ctx context.Context, client *http.Client, issuerURL string) (string, error) {
	documentURL := strings.TrimSuffix(issuerURL, "/") + discoveryPath
	body, err := getDocument(ctx, client, documentURL)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	var metadata providerMetadata
	if err := json.Unmarshal(body, &metadata); err != nil {
		return "", fmt.Errorf("%w: decoding %s: %w", ErrDiscovery, documentURL, err)
	}
	if metadata.Issuer != issuerURL {
		return "", fmt.Errorf("%w: %s names issuer %q, want %q", ErrDiscovery, documentURL, metadata.Issuer, issuerURL)
	}
	jwksURL, err := url.Parse(metadata.JWKSURI)
	if err != nil || jwksURL.Scheme != "https" || jwksURL.Host == "" {
		return "", fmt.Errorf("%w: %s has jwks_uri %q, want an absolute https URL", ErrDiscovery, documentURL, metadata.JWKSURI)
	}
	return metadata.JWKSURI, nil
}

// getDocument GETs documentURL and returns its body, refusing non-200 answers and bodies larger
// than maxDocumentBytes.
func getDocument(ctx context.Context, client *http.Client, documentURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, documentURL, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", documentURL, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", documentURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: status %s", documentURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", documentURL, err)
	}
	if len(body) > maxDocumentBytes {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", documentURL, maxDocumentBytes)
	}
	return body, nil
}
