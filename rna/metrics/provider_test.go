package metrics

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	windowStart = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	windowEnd   = windowStart.Add(2 * time.Minute)
)

// replay serves one canned answer and records the request.
func replay(t *testing.T, status int, answer string, got *http.Request, gotBody *string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = *r.Clone(context.Background())
		got.Form, _ = url.ParseQuery(string(b))
		*gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPrometheusQuery(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		answer  string
		want    float64
		wantErr string
	}{
		{name: "vector of one sample", status: 200, answer: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"app"},"value":[1796040120.000,"0.25"]}]}}`, want: 0.25},
		{name: "scalar", status: 200, answer: `{"status":"success","data":{"resultType":"scalar","result":[1796040120.000,"42"]}}`, want: 42},
		{name: "empty vector", status: 200, answer: `{"status":"success","data":{"resultType":"vector","result":[]}}`, wantErr: "no data"},
		{name: "NaN", status: 200, answer: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`, wantErr: "no data"},
		{name: "several series", status: 200, answer: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`, wantErr: "returned 2 series; aggregate"},
		{name: "matrix", status: 200, answer: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, wantErr: `result type "matrix"`},
		{name: "bad query", status: 400, answer: `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`, wantErr: "bad_data: parse error at char 5"},
		{name: "server error", status: 503, answer: `overloaded`, wantErr: "HTTP 503: overloaded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req http.Request
			var body string
			srv := replay(t, tc.status, tc.answer, &req, &body)
			p := &Prometheus{BaseURL: srv.URL + "/", Credentials: Credentials{BearerToken: "tok"}, Client: srv.Client()}
			got, err := p.Query(context.Background(), `avg(rate(x[2m]))`, windowStart, windowEnd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Query = %v, %v; want %v", got, err, tc.want)
			}
			if req.URL.Path != "/api/v1/query" || req.Form.Get("query") != `avg(rate(x[2m]))` || req.Form.Get("time") != "1796040120.000" {
				t.Errorf("request = %s %v", req.URL.Path, req.Form)
			}
			if req.Header.Get("Authorization") != "Bearer tok" {
				t.Errorf("Authorization = %q", req.Header.Get("Authorization"))
			}
		})
	}
}

func TestDatadogQuery(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		answer  string
		want    float64
		wantErr string
	}{
		{name: "one series, null skipped", status: 200, answer: `{"status":"ok","res_type":"time_series","series":[{"metric":"trace.http.errors","pointlist":[[1764504000000,1.0],[1764504060000,null],[1764504120000,3.0]],"length":3}],"from_date":1764504000000,"to_date":1764504120000}`, want: 2},
		{name: "no series", status: 200, answer: `{"status":"ok","series":[]}`, wantErr: "no data"},
		{name: "several series", status: 200, answer: `{"status":"ok","series":[{"pointlist":[[1,1]]},{"pointlist":[[1,2]]}]}`, wantErr: "2 series"},
		{name: "forbidden", status: 403, answer: `{"errors":["Forbidden"]}`, wantErr: "HTTP 403"},
		{name: "query error", status: 400, answer: `{"status":"error","error":"Error parsing query"}`, wantErr: "Error parsing query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req http.Request
			var body string
			srv := replay(t, tc.status, tc.answer, &req, &body)
			d := &Datadog{BaseURL: srv.URL, Credentials: Credentials{APIKey: "api", ApplicationKey: "app"}, Client: srv.Client()}
			got, err := d.Query(context.Background(), "avg:trace.http.errors{env:prod}", windowStart, windowEnd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Query = %v, %v; want %v", got, err, tc.want)
			}
			q := req.URL.Query()
			if req.URL.Path != "/api/v1/query" || q.Get("from") != "1796040000" || q.Get("to") != "1796040120" || q.Get("query") != "avg:trace.http.errors{env:prod}" {
				t.Errorf("request = %s", req.URL)
			}
			if req.Header.Get("DD-API-KEY") != "api" || req.Header.Get("DD-APPLICATION-KEY") != "app" {
				t.Errorf("headers = %v", req.Header)
			}
		})
	}
}

func TestNewRelicQuery(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		want    float64
		wantErr string
	}{
		{name: "one number", answer: `{"data":{"actor":{"account":{"nrql":{"results":[{"average.duration":0.42}]}}}}}`, want: 0.42},
		{name: "time fields ignored", answer: `{"data":{"actor":{"account":{"nrql":{"results":[{"beginTimeSeconds":1764504000,"endTimeSeconds":1764504120,"count":7}]}}}}}`, want: 7},
		{name: "no results", answer: `{"data":{"actor":{"account":{"nrql":{"results":[]}}}}}`, wantErr: "no data"},
		{name: "two numbers", answer: `{"data":{"actor":{"account":{"nrql":{"results":[{"a":1,"b":2}]}}}}}`, wantErr: "has 2 numbers"},
		{name: "graphql error", answer: `{"errors":[{"message":"NRQL Syntax error"}],"data":{"actor":{"account":{"nrql":null}}}}`, wantErr: "NRQL Syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req http.Request
			var body string
			srv := replay(t, 200, tc.answer, &req, &body)
			n := &NewRelic{BaseURL: srv.URL + "/graphql", AccountID: "1234", Credentials: Credentials{UserKey: "NRAK-x"}, Client: srv.Client()}
			got, err := n.Query(context.Background(), "SELECT average(duration) FROM Transaction", windowStart, windowEnd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Query = %v, %v; want %v", got, err, tc.want)
			}
			var sent struct {
				Query     string         `json:"query"`
				Variables map[string]any `json:"variables"`
			}
			if err := json.Unmarshal([]byte(body), &sent); err != nil {
				t.Fatal(err)
			}
			if req.URL.Path != "/graphql" || req.Header.Get("API-Key") != "NRAK-x" || sent.Variables["accountId"] != float64(1234) ||
				sent.Variables["nrql"] != "SELECT average(duration) FROM Transaction" || !strings.Contains(sent.Query, "nrql(query: $nrql)") {
				t.Errorf("request = %s %v %s", req.URL, req.Header, body)
			}
		})
	}
}

func TestParseProviders(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    int
		wantErr string
	}{
		{name: "three providers", want: 3, yaml: `
- {name: prom, type: prometheus, baseURL: "http://prometheus:9090"}
- {name: dd, type: datadog, baseURL: "https://api.datadoghq.com", credentialsSecretRef: {name: dd-keys}}
- {name: nr, type: newrelic, baseURL: "https://api.newrelic.com/graphql", accountId: "1234", credentialsSecretRef: {name: nr}}`},
		{name: "unknown type", yaml: `[{name: x, type: graphite, baseURL: "http://g"}]`, wantErr: `providers.yaml[0].type: "graphite": expected prometheus, datadog or newrelic`},
		{name: "no name", yaml: `[{type: prometheus, baseURL: "http://g"}]`, wantErr: "providers.yaml[0].name: required"},
		{name: "duplicate", yaml: `[{name: a, type: prometheus, baseURL: "http://g"}, {name: a, type: prometheus, baseURL: "http://h"}]`, wantErr: `providers.yaml[1].name: "a" is listed twice`},
		{name: "bad URL", yaml: `[{name: a, type: prometheus, baseURL: "prometheus:9090"}]`, wantErr: "providers.yaml[0].baseURL"},
		{name: "new relic without account", yaml: `[{name: a, type: newrelic, baseURL: "https://api.newrelic.com/graphql"}]`, wantErr: "providers.yaml[0].accountId: required"},
		{name: "unknown field", yaml: `[{name: a, type: prometheus, baseURL: "http://g", token: x}]`, wantErr: "not a YAML list of providers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProviders(tc.yaml)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("ParseProviders = %v, %v", got, err)
			}
		})
	}
}
