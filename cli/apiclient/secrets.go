package apiclient

import (
	"context"
	"net/http"

	"github.com/aurora-cd/aurora/server"
)

// Secret is a tenant secret as the API lists it: name and last update, never the value.
type Secret = server.Secret

// SecretRequest is the body that sets a secret.
type SecretRequest = server.SecretRequest

// Secrets lists the names and update times of the tenant's secrets.
func (c *Client) Secrets(ctx context.Context) ([]Secret, error) {
	return listAll[Secret](ctx, c, "/secrets")
}

// SetSecret creates or replaces the tenant secret name with value.
func (c *Client) SetSecret(ctx context.Context, name, value string) (*Secret, error) {
	out := &Secret{}
	if _, err := c.doJSON(ctx, http.MethodPut, "/secrets/"+pathEscape(name), nil, SecretRequest{Value: value}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSecret deletes the tenant secret name.
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/secrets/"+pathEscape(name), nil, nil, nil)
	return err
}
