package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestConsoleOrigins(t *testing.T) {
	got := consoleOrigins([]string{"https://aurora.example/console/", "https://aurora.example/console/callback",
		"http://127.0.0.1:8444/console/", "not a url", "/relative"})
	want := []string{"https://aurora.example", "http://127.0.0.1:8444"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("consoleOrigins = %v, want %v", got, want)
	}
}

func TestAllowConsoleOrigins(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h := allowConsoleOrigins([]string{"https://aurora.example"}, ok)
	tests := []struct {
		name, method, path, origin string
		wantStatus                 int
		wantAllow                  string
	}{
		{"the Console posts to the token endpoint", http.MethodPost, TokenPath, "https://aurora.example", http.StatusOK, "https://aurora.example"},
		{"the Console reads discovery", http.MethodGet, DiscoveryPath, "https://aurora.example", http.StatusOK, "https://aurora.example"},
		{"a preflight of the Console", http.MethodOptions, TokenPath, "https://aurora.example", http.StatusNoContent, "https://aurora.example"},
		{"another origin gets no header", http.MethodPost, TokenPath, "https://evil.example", http.StatusOK, ""},
		{"a look-alike origin gets no header", http.MethodPost, TokenPath, "https://aurora.example.evil", http.StatusOK, ""},
		{"no origin (the CLI)", http.MethodPost, TokenPath, "", http.StatusOK, ""},
		{"the login page is a navigation, no CORS", http.MethodGet, AuthorizePath, "https://aurora.example", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantAllow)
			}
			if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials must never be allowed")
			}
		})
	}
}
