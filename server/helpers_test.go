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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
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

// connectAgent opens a real tunnel to the Hub as agent id with tok (scope api:agentHub:full), waits
// for Welcome, sends inv, and keeps heartbeating until the suite ends.
func connectAgent(id, tok string, inv *tunnelv1.Inventory) {
	conn, err := grpc.NewClient(hubAddress, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)),
		grpc.WithPerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(tok))))
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	DeferCleanup(func() { cancel(); _ = conn.Close() })
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(ctx)
	Expect(err).NotTo(HaveOccurred())
	var mu sync.Mutex
	var next uint64
	send := func(env *tunnelv1.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		next++
		env.Id, env.SentAtUnixNano = next, time.Now().UnixNano()
		return stream.Send(env)
	}
	Expect(send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{AgentIdentifier: id, AgentVersion: "v9.9.9", KubernetesVersion: "v1.37.2"}}})).To(Succeed())
	first, err := stream.Recv()
	Expect(err).NotTo(HaveOccurred())
	Expect(first.GetWelcome()).NotTo(BeNil(), "the Hub answers Hello with Welcome")
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}})
			}
		}
	}()
	Expect(send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Inventory{Inventory: inv}})).To(Succeed())
}
