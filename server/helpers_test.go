package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/gomega"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/server"
)

// tokenStatus is the HTTP status of a token request for c.
func tokenStatus(c credential) int {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, issuerURL+"/oauth/token", strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.clientID), url.QueryEscape(c.secret))
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}

// token gets an access token for c from the auth service (client-credentials grant).
func token(c credential, audience ...string) string {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(audience) > 0 {
		form.Set("audience", audience[0])
	}
	req, err := http.NewRequest(http.MethodPost, issuerURL+"/oauth/token", strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.clientID), url.QueryEscape(c.secret))
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "token for %s: %s", c, body)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	Expect(json.Unmarshal(body, &out)).To(Succeed())
	return out.AccessToken
}

// response is an answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes the JSON error of the answer.
func (r response) errorBody() server.Error {
	var out struct {
		Error server.Error `json:"error"`
	}
	Expect(json.Unmarshal(r.body, &out)).To(Succeed(), "error body: %s", r.body)
	return out.Error
}

// into decodes the JSON answer into v.
func (r response) into(v any) {
	Expect(json.Unmarshal(r.body, v)).To(Succeed(), "body: %s", r.body)
}

// call sends a request to base (apiURL unless given) with the bearer token (none when empty).
func call(method, path, tok string, body []byte, contentType string, base ...string) response {
	u := apiURL
	if len(base) > 0 {
		u = base[0]
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u+path, rd)
	Expect(err).NotTo(HaveOccurred())
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return response{status: resp.StatusCode, header: resp.Header, body: out}
}

func get(path, tok string) response { return call(http.MethodGet, path, tok, nil, "") }

func postJSON(path, tok string, v any) response {
	var body []byte
	if v != nil {
		var err error
		body, err = json.Marshal(v)
		Expect(err).NotTo(HaveOccurred())
	}
	return call(http.MethodPost, path, tok, body, "application/json")
}

func postYAML(path, tok, yaml string) response {
	return call(http.MethodPost, path, tok, []byte(yaml), "application/yaml")
}

// recordingInventory answers inventory queries from a fixed inventory per agent and records the
// tokens it was given. It stands in for the Agent Hub's query endpoint.
type recordingInventory struct {
	mu     sync.Mutex
	byName map[string]*tunnelv1.Inventory
	tokens []string
}

func (r *recordingInventory) set(agent string, inv *tunnelv1.Inventory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byName == nil {
		r.byName = map[string]*tunnelv1.Inventory{}
	}
	r.byName[agent] = inv
}

// Inventory implements server.InventorySource.
func (r *recordingInventory) Inventory(_ context.Context, token, agent string) (*tunnelv1.Inventory, time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, token)
	inv, ok := r.byName[agent]
	if !ok {
		return nil, time.Time{}, server.ErrNoInventory
	}
	return inv, time.Unix(1700000000, 0), nil
}
