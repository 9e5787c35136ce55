package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aurora-cd/aurora/internal/tenantsecrets"
)

// MaxSecretBodyBytes bounds the body of PUT /secrets/{name}: a value of tenantsecrets.MaxValueBytes
// even when JSON escapes every byte of it (\u00XX), plus room for the object around it.
const MaxSecretBodyBytes = 6*tenantsecrets.MaxValueBytes + 1024

// SecretRequest is the body of PUT /secrets/{name}.
type SecretRequest struct {
	// Value is the secret's value, 1 byte to 64 KiB; it is stored sealed and never answered.
	Value string `json:"value"`
}

// Secret is a tenant secret as the API shows it: its name and last update, never its value.
type Secret struct {
	// Name is used in templates as {{secrets.<name>}}.
	Name string `json:"name"`
	// UpdatedIso8601 is when the value was last set; empty when unknown (written without the API).
	UpdatedIso8601 string `json:"updatedIso8601"`
}

// secretStore returns the tenant secret store, or 503 when the server has no master key.
func (s *Server) secretStore() (*tenantsecrets.Store, error) {
	if s.opts.Sealer == nil {
		return nil, newError(http.StatusServiceUnavailable, CodeUnavailable, "the server has no master key (--master-key-file), so tenant secrets cannot be managed")
	}
	return &tenantsecrets.Store{Client: s.opts.Client, Sealer: s.opts.Sealer, Now: s.opts.Now}, nil
}

// secretName reads and checks the {name} of a secrets route.
func secretName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := tenantsecrets.ValidateName(name); err != nil {
		return "", invalidField("name", "%v", err)
	}
	return name, nil
}

// listSecrets is GET /secrets: the names and update times of the tenant's secrets, by name,
// paginated.
func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request, c *caller) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	store, err := s.secretStore()
	if err != nil {
		return err
	}
	entries, err := store.List(r.Context(), c.namespace)
	if err != nil {
		return fmt.Errorf("listing the secrets of %s: %w", c.namespace, err)
	}
	page, next := paginate(entries, func(e tenantsecrets.Entry) pageKey { return pageKey{Name: e.Name} }, pr)
	out := listPage[Secret]{Items: make([]Secret, 0, len(page)), Continue: next}
	for _, e := range page {
		sec := Secret{Name: e.Name}
		if !e.UpdatedAt.IsZero() {
			sec.UpdatedIso8601 = e.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z07:00")
		}
		out.Items = append(out.Items, sec)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putSecret is PUT /secrets/{name}: it seals the value and creates or replaces the secret.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	name, err := secretName(r)
	if err != nil {
		return err
	}
	var req SecretRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return err
	}
	switch {
	case req.Value == "":
		return invalidField("value", "required: the secret's value as a JSON string of 1 to %d bytes", tenantsecrets.MaxValueBytes)
	case len(req.Value) > tenantsecrets.MaxValueBytes:
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("value: the secret's value is %d bytes; expected at most %d", len(req.Value), tenantsecrets.MaxValueBytes),
			Details: []Detail{{Field: "value", Message: fmt.Sprintf("expected at most %d bytes", tenantsecrets.MaxValueBytes)}}}
	}
	store, err := s.secretStore()
	if err != nil {
		return err
	}
	updated, err := store.Put(r.Context(), c.namespace, name, []byte(req.Value))
	if err != nil {
		return err
	}
	s.opts.Log.Info("Secret set", "secret", name, "namespace", c.namespace, "by", c.Name)
	writeJSON(w, http.StatusOK, Secret{Name: name, UpdatedIso8601: updated.UTC().Format("2006-01-02T15:04:05Z07:00")})
	return nil
}

// deleteSecret is DELETE /secrets/{name}: 204, or 404 when the tenant has no such secret.
func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	name, err := secretName(r)
	if err != nil {
		return err
	}
	store, err := s.secretStore()
	if err != nil {
		return err
	}
	switch err := store.Delete(r.Context(), c.namespace, name); {
	case errors.Is(err, tenantsecrets.ErrNotFound):
		return notFound("secret %q not found", name)
	case err != nil:
		return err
	}
	s.opts.Log.Info("Secret deleted", "secret", name, "namespace", c.namespace, "by", c.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
