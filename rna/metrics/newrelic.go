package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NewRelic runs NRQL through NerdGraph (POST of a GraphQL query to BaseURL, API-Key header). The
// NRQL sets its own window (SINCE {{armory.startTimeEpochMillis}} UNTIL ...). The value is the one
// number of the first result row.
type NewRelic struct {
	// BaseURL is the GraphQL endpoint, such as https://api.newrelic.com/graphql.
	BaseURL string
	// AccountID is the account the NRQL runs in.
	AccountID string
	// Credentials hold the user key.
	Credentials Credentials
	// Client sends the requests.
	Client *http.Client
}

// newRelicAnswer is NerdGraph's answer to an nrql query.
type newRelicAnswer struct {
	Data struct {
		Actor struct {
			Account struct {
				NRQL *struct {
					Results []map[string]any `json:"results"`
				} `json:"nrql"`
			} `json:"account"`
		} `json:"actor"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// Query implements Provider.
func (n *NewRelic) Query(ctx context.Context, query string, _, _ time.Time) (float64, error) {
	account, err := strconv.ParseInt(n.AccountID, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("new relic: accountId %q is not a number", n.AccountID)
	}
	gql := map[string]any{
		"query":     "query($accountId: Int!, $nrql: Nrql!) { actor { account(id: $accountId) { nrql(query: $nrql) { results } } } }",
		"variables": map[string]any{"accountId": account, "nrql": query},
	}
	payload, err := json.Marshal(gql)
	if err != nil {
		return 0, fmt.Errorf("new relic: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(n.BaseURL, "/"), bytes.NewReader(payload))
	if err != nil {
		return 0, fmt.Errorf("new relic: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("API-Key", n.Credentials.UserKey)
	body, err := do(n.Client, req, "new relic query")
	if err != nil {
		return 0, err
	}
	var ans newRelicAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, fmt.Errorf("new relic query: the answer is not NerdGraph's JSON: %w", err)
	}
	if len(ans.Errors) > 0 {
		msgs := make([]string, len(ans.Errors))
		for i, e := range ans.Errors {
			msgs[i] = e.Message
		}
		return 0, fmt.Errorf("new relic query: %s", strings.Join(msgs, "; "))
	}
	nrql := ans.Data.Actor.Account.NRQL
	if nrql == nil || len(nrql.Results) == 0 {
		return 0, errNoData
	}
	var numbers []float64
	for k, v := range nrql.Results[0] {
		if k == "beginTimeSeconds" || k == "endTimeSeconds" {
			continue
		}
		if f, ok := v.(float64); ok {
			numbers = append(numbers, f)
		}
	}
	switch len(numbers) {
	case 0:
		return 0, errNoData
	case 1:
		return numbers[0], nil
	}
	return 0, fmt.Errorf("new relic query: the first result has %d numbers; select one", len(numbers))
}
