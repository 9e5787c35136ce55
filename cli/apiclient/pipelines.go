package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Decisions a person or a machine may take on a pipeline.
var Decisions = []string{"approve", "reject", "skip", "rollback", "cancel"}

// StartPipeline submits a deploy file (YAML, manifests inline) and returns the new pipeline's id.
// With dryRun the API only validates it.
func (c *Client) StartPipeline(ctx context.Context, deployFile []byte, dryRun bool) (*StartResult, error) {
	q := url.Values{}
	if dryRun {
		q.Set("dryRun", "true")
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/pipelines/kubernetes", query: q,
		body: bytes.NewReader(deployFile), contentType: "application/yaml"})
	if err != nil {
		return nil, err
	}
	out := &StartResult{Status: resp.Status}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return nil, fmt.Errorf("decoding the answer of POST /pipelines/kubernetes: %w", err)
	}
	return out, nil
}

// Pipeline returns a pipeline, with the answer kept as given in Raw.
func (c *Client) Pipeline(ctx context.Context, id string) (*Pipeline, error) {
	p := &Pipeline{}
	resp, err := c.doJSON(ctx, http.MethodGet, "/pipelines/"+pathEscape(id), nil, nil, p)
	if err != nil {
		return nil, err
	}
	p.Raw = resp.Body
	return p, nil
}

// Pipelines returns the newest pipelines, up to limit.
func (c *Client) Pipelines(ctx context.Context, limit int) ([]PipelineSummary, error) {
	var page struct {
		Items []PipelineSummary `json:"items"`
	}
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if _, err := c.doJSON(ctx, http.MethodGet, "/pipelines", q, nil, &page); err != nil {
		return nil, err
	}
	return page.Items, nil
}

// Judge takes a decision (approve, reject, skip, rollback or cancel) on a pipeline.
func (c *Client) Judge(ctx context.Context, pipelineID, decision string, req JudgmentRequest) (*JudgmentResult, error) {
	out := &JudgmentResult{}
	if _, err := c.doJSON(ctx, http.MethodPost, "/pipelines/"+pathEscape(pipelineID)+"/"+pathEscape(decision), nil, req, out); err != nil {
		return nil, err
	}
	return out, nil
}
