package hub

import (
	"strings"
	"testing"
	"time"

	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

func TestPreviewLinksSigned(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	opts := Options{PreviewKey: []byte(strings.Repeat("k", MinPreviewKeyBytes)), PreviewBaseURL: "https://preview.example"}
	key := agentKey{namespace: "aurora-acme-prod", agent: "staging"}
	link := func(ns, svc string, in time.Duration) tunnelhttp.PreviewLinkRequest {
		return tunnelhttp.PreviewLinkRequest{Namespace: ns, Service: svc, ExpiresAt: now.Add(in)}
	}
	tests := []struct {
		name    string
		opts    Options
		in      []tunnelhttp.PreviewLinkRequest
		wantErr string
	}{
		{name: "two services", opts: opts, in: []tunnelhttp.PreviewLinkRequest{link("web", "potato", 5*time.Minute), link("web", "admin", 24*time.Hour)}},
		{name: "disabled", opts: Options{}, in: []tunnelhttp.PreviewLinkRequest{link("web", "potato", time.Minute)}, wantErr: "not enabled"},
		{name: "none", opts: opts, wantErr: "previews: between 1 and 64 expected, got 0"},
		{name: "expired", opts: opts, in: []tunnelhttp.PreviewLinkRequest{link("web", "potato", -time.Second)}, wantErr: "previews[0].expiresAt"},
		{name: "too long", opts: opts, in: []tunnelhttp.PreviewLinkRequest{link("web", "potato", 25*time.Hour)}, wantErr: "previews[0].expiresAt"},
		{name: "bad name", opts: opts, in: []tunnelhttp.PreviewLinkRequest{link("web", "Potato_Svc", time.Minute)}, wantErr: "previews[0]: namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urls, err := previewLinks(tt.opts, key, tunnelhttp.PreviewLinksRequest{Previews: tt.in}, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range urls {
				token, ok := strings.CutPrefix(u, "https://preview.example/preview/")
				if !ok || !strings.HasSuffix(token, "/") {
					t.Fatalf("url %q is not under the base URL", u)
				}
				target, err := verifyPreview(opts.PreviewKey, strings.TrimSuffix(token, "/"), now)
				if err != nil {
					t.Fatalf("the link does not verify: %v", err)
				}
				want := PreviewTarget{Tenant: key.namespace, Agent: key.agent, Namespace: tt.in[i].Namespace, Service: tt.in[i].Service, ExpiresAt: tt.in[i].ExpiresAt.Unix()}
				if target != want {
					t.Fatalf("link %d reaches %+v, want %+v", i, target, want)
				}
			}
		})
	}
}
