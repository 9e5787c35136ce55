package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// decodeList decodes a list answer, either {"items": [...], "continue": "..."} or a bare array,
// into items and returns the continue token.
func decodeList[T any](body []byte, items *[]T) (string, error) {
	if err := json.Unmarshal(body, items); err == nil {
		return "", nil
	}
	var page struct {
		Items    []T    `json:"items"`
		Continue string `json:"continue"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return "", err
	}
	*items = append(*items, page.Items...)
	return page.Continue, nil
}

// listAll follows the continue tokens of a list.
func listAll[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var all []T
	q := url.Values{"limit": {"500"}}
	for {
		resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
		if err != nil {
			return nil, err
		}
		var page []T
		next, err := decodeList(resp.Body, &page)
		if err != nil {
			return nil, fmt.Errorf("decoding the answer of GET %s: %w", path, err)
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		q.Set("continue", next)
	}
}

// ConnectedAgents lists the tenant's agents.
func (c *Client) ConnectedAgents(ctx context.Context) ([]ConnectedAgent, error) {
	return listAll[ConnectedAgent](ctx, c, "/identity/connected-agents")
}

// Environments lists the tenants the caller may use.
func (c *Client) Environments(ctx context.Context) ([]Environment, error) {
	return listAll[Environment](ctx, c, "/environments")
}

// Credentials lists the tenant's machine credentials (without secrets).
func (c *Client) Credentials(ctx context.Context) ([]Credential, error) {
	return listAll[Credential](ctx, c, "/credentials")
}

// CreateCredential creates a machine credential; the answer is the only one that carries its secret.
func (c *Client) CreateCredential(ctx context.Context, req NewCredential) (*Credential, error) {
	out := &Credential{}
	if _, err := c.doJSON(ctx, http.MethodPost, "/credentials", nil, req, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCredential deletes a machine credential by name.
func (c *Client) DeleteCredential(ctx context.Context, name string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/credentials/"+pathEscape(name), nil, nil, nil)
	return err
}

// WhoAmI returns the caller's principal as the API describes it.
func (c *Client) WhoAmI(ctx context.Context) (map[string]any, error) {
	out := map[string]any{}
	if _, err := c.doJSON(ctx, http.MethodGet, "/whoami", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
