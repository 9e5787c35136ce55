package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Datadog runs metric queries through Datadog's API (GET /api/v1/query with from, to and query),
// authenticated with DD-API-KEY and DD-APPLICATION-KEY. The value is the mean of every point of
// the answer's series (null points skipped); a query should return one series.
type Datadog struct {
	// BaseURL is the site's API, such as https://api.datadoghq.com.
	BaseURL string
	// Credentials hold the API key and application key.
	Credentials Credentials
	// Client sends the requests.
	Client *http.Client
}

// datadogAnswer is the answer of GET /api/v1/query.
type datadogAnswer struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Series []struct {
		Metric    string       `json:"metric"`
		Pointlist [][]*float64 `json:"pointlist"`
	} `json:"series"`
}

// Query implements Provider.
func (d *Datadog) Query(ctx context.Context, query string, start, end time.Time) (float64, error) {
	q := url.Values{"query": {query}, "from": {strconv.FormatInt(start.Unix(), 10)}, "to": {strconv.FormatInt(end.Unix(), 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(d.BaseURL, "/")+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return 0, fmt.Errorf("datadog: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("DD-API-KEY", d.Credentials.APIKey)
	req.Header.Set("DD-APPLICATION-KEY", d.Credentials.ApplicationKey)
	body, err := do(d.Client, req, "datadog query")
	var ans datadogAnswer
	if jerr := json.Unmarshal(body, &ans); jerr == nil && ans.Error != "" {
		return 0, fmt.Errorf("datadog query: %s", ans.Error)
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, fmt.Errorf("datadog query: the answer is not the API's JSON: %w", err)
	}
	if ans.Status != "" && ans.Status != "ok" {
		return 0, fmt.Errorf("datadog query: status %q", ans.Status)
	}
	if len(ans.Series) > 1 {
		return 0, fmt.Errorf("datadog query: the query returned %d series; aggregate it to one", len(ans.Series))
	}
	var values []float64
	for _, s := range ans.Series {
		for _, p := range s.Pointlist {
			if len(p) == 2 && p[1] != nil {
				values = append(values, *p[1])
			}
		}
	}
	return mean(values)
}
