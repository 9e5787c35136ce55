package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Prometheus runs PromQL instant queries (GET /api/v1/query) at the window's end. Queries look
// back over the window themselves, with range selectors such as [{{armory.promQlStepInterval}}].
// The answer must be a scalar or a vector of exactly one sample.
type Prometheus struct {
	// BaseURL is the server's URL, such as http://prometheus:9090.
	BaseURL string
	// Credentials may hold a bearer token or basic auth.
	Credentials Credentials
	// Client sends the requests.
	Client *http.Client
}

// prometheusAnswer is the envelope of the Prometheus HTTP API.
type prometheusAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// Query implements Provider.
func (p *Prometheus) Query(ctx context.Context, query string, _, end time.Time) (float64, error) {
	form := url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.BaseURL, "/")+"/api/v1/query", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, fmt.Errorf("prometheus: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	switch {
	case p.Credentials.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+p.Credentials.BearerToken)
	case p.Credentials.Username != "":
		req.SetBasicAuth(p.Credentials.Username, p.Credentials.Password)
	}
	body, err := do(p.Client, req, "prometheus query")
	var ans prometheusAnswer
	if jerr := json.Unmarshal(body, &ans); jerr == nil && ans.Status == "error" {
		return 0, fmt.Errorf("prometheus query: %s: %s", ans.ErrorType, ans.Error)
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, fmt.Errorf("prometheus query: the answer is not the API's JSON: %w", err)
	}
	return prometheusValue(ans.Data.ResultType, ans.Data.Result)
}

// prometheusValue reads one value from a query result: a scalar, or a vector of one sample.
func prometheusValue(resultType string, result json.RawMessage) (float64, error) {
	switch resultType {
	case "scalar":
		var sample []any
		if err := json.Unmarshal(result, &sample); err != nil || len(sample) != 2 {
			return 0, fmt.Errorf("prometheus query: a scalar result is not [time, value]")
		}
		return sampleValue(sample[1])
	case "vector":
		var vector []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(result, &vector); err != nil {
			return 0, fmt.Errorf("prometheus query: a vector result does not parse: %w", err)
		}
		switch len(vector) {
		case 0:
			return 0, errNoData
		case 1:
			if len(vector[0].Value) != 2 {
				return 0, fmt.Errorf("prometheus query: a sample is not [time, value]")
			}
			return sampleValue(vector[0].Value[1])
		}
		return 0, fmt.Errorf("prometheus query: the query returned %d series; aggregate it to one, such as avg(...) or sum(...)", len(vector))
	}
	return 0, fmt.Errorf("prometheus query: result type %q: expected a scalar or a vector of one sample", resultType)
}

func sampleValue(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("prometheus query: the sample value %v is not a string", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("prometheus query: the sample value %q is not a number", s)
	}
	if math.IsNaN(f) {
		return 0, errNoData
	}
	return f, nil
}
