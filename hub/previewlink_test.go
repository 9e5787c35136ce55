package hub

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPreviewLinks(t *testing.T) {
	key := []byte(strings.Repeat("k", MinPreviewKeyBytes))
	now := time.Unix(1_800_000_000, 0)
	target := PreviewTarget{Tenant: "aurora-acme-prod", Agent: "staging", Namespace: "web", Service: "potato", ExpiresAt: now.Add(5 * time.Minute).Unix()}
	token := signPreview(key, target)
	if again := signPreview(key, target); again != token {
		t.Fatalf("signing the same target twice gave %q and %q", token, again)
	}
	payload, sig, _ := strings.Cut(token, ".")
	other := target
	other.Service = "secret-admin"
	forgedPayload, _, _ := strings.Cut(signPreview(key, other), ".")
	flipped := []byte(sig)
	flipped[0] ^= 1
	tests := []struct {
		name    string
		key     []byte
		token   string
		at      time.Time
		want    error
		wantErr bool
	}{
		{name: "valid", key: key, token: token, at: now},
		{name: "valid until the last second", key: key, token: token, at: now.Add(5*time.Minute - time.Second)},
		{name: "expired at its time", key: key, token: token, at: now.Add(5 * time.Minute), want: ErrPreviewExpired},
		{name: "another key", key: []byte(strings.Repeat("x", MinPreviewKeyBytes)), token: token, at: now, want: ErrPreviewForged},
		{name: "payload swapped", key: key, token: forgedPayload + "." + sig, at: now, want: ErrPreviewForged},
		{name: "signature altered", key: key, token: payload + "." + string(flipped), at: now, want: ErrPreviewForged},
		{name: "no signature", key: key, token: payload, at: now, want: ErrPreviewMalformed},
		{name: "empty", key: key, token: "", at: now, want: ErrPreviewMalformed},
		{name: "not base64", key: key, token: payload + ".!!!", at: now, want: ErrPreviewMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyPreview(tt.key, tt.token, tt.at)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("verifyPreview: %v", err)
				}
				if got != target {
					t.Fatalf("verifyPreview = %+v, want %+v", got, target)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("verifyPreview error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestStripPreviewResponseHeaders(t *testing.T) {
	res := &http.Response{Header: http.Header{}}
	res.Header.Set("Content-Type", "text/html")
	res.Header.Add("Set-Cookie", "session=1; Path=/")
	res.Header.Set("Service-Worker-Allowed", "/")
	res.Header.Set("Clear-Site-Data", `"cookies"`)
	if err := stripPreviewResponseHeaders(res); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Set-Cookie", "Service-Worker-Allowed", "Clear-Site-Data"} {
		if v := res.Header.Values(h); len(v) > 0 {
			t.Errorf("%s survived: %v", h, v)
		}
	}
	if got := res.Header.Get("Content-Type"); got != "text/html" {
		t.Errorf("Content-Type = %q, want it kept", got)
	}
}
