// Package apiclient is a small typed client of Aurora's REST API (docs/api.md) and of the token
// endpoints of its auth service, over net/http with TLS 1.2 or newer.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/internal/version"
)

// maxResponseBytes bounds what the client reads of one answer.
const maxResponseBytes = 16 << 20

// Client calls the REST API with a bearer token from its token source.
type Client struct {
	base   *url.URL
	tokens oauth2.TokenSource
	http   *http.Client
}

// New returns a client of the API at apiURL (https) that authenticates with tokens over hc.
func New(apiURL string, tokens oauth2.TokenSource, hc *http.Client) (*Client, error) {
	if apiURL == "" {
		return nil, fmt.Errorf("apiURL is not set: expected it in the configuration file, $AURORA_API_URL or --api-url")
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("apiURL %q: expected an https:// URL", apiURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return &Client{base: u, tokens: tokens, http: hc}, nil
}

// BaseURL is the API's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// HTTPClient returns an HTTP client that trusts the CA certificates of caFile (the system roots when
// empty) and speaks TLS 1.2 or newer.
func HTTPClient(caFile string) (*http.Client, error) {
	cfg := tlsutil.AtLeastTLS12(nil)
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		if cfg, err = tlsutil.ClientConfig(pem); err != nil {
			return nil, fmt.Errorf("caFile %s: %w", caFile, err)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, nil
}

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	body         io.Reader
	contentType  string
}

// Response is an answer that was not an error.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Body is the answer's body.
	Body []byte
}

// do sends r with a fresh token and returns the answer, or an *Error for any status of 400 and up.
func (c *Client) do(ctx context.Context, r request) (*Response, error) {
	// r.path is already escaped, segment by segment, by the caller.
	target := c.base.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, r.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "aurora-cli/"+version.Version)
	if c.tokens != nil {
		tok, err := c.tokens.Token()
		if err != nil {
			return nil, fmt.Errorf("getting a token: %w", err)
		}
		tok.SetAuthHeader(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, c.base.String()+r.path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", r.method, r.path, err)
	}
	if resp.StatusCode >= 400 {
		return nil, decodeError(resp.StatusCode, body)
	}
	return &Response{Status: resp.StatusCode, Body: body}, nil
}

// doJSON sends in (when not nil) as JSON and decodes the answer into out (when not nil).
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) (*Response, error) {
	r := request{method: method, path: path, query: query}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encoding the request of %s %s: %w", method, path, err)
		}
		r.body, r.contentType = bytes.NewReader(data), "application/json"
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return nil, fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
		}
	}
	return resp, nil
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }
