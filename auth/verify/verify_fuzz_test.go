package verify

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/aurora-cd/aurora/auth/principal"
)

// FuzzVerify feeds the verifier two kinds of input against a real issuer (discovery and JWKS over
// TLS): an arbitrary bearer token, and arbitrary claims signed with the issuer's own key ({{iss}}
// and {{now}} in them stand for the issuer's URL and the Unix time of its clock). A token is
// accepted only when it carries the issuer, the audience, an expiry in the future and a complete
// principal; every refusal wraps ErrInvalidToken (or ErrKeySetUnavailable) and no error repeats
// the token. Seeds: testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	issuer := newTestIssuer(f)
	verifier := issuer.newVerifier(f)
	valid := issuer.sign(f, issuer.claims("api:deployment:full"))
	for _, seed := range []struct{ token, claims string }{
		{valid, `{"iss":"{{iss}}","aud":["aurora-api"],"exp":{{now}}+600,"sub":"machine:acme:prod:ci","principal":{"type":"machine","organization":"acme","environment":"prod","scopes":["api:deployment:full"]}}`},
		{valid[:len(valid)-4] + "AAAA", `{"iss":"{{iss}}","aud":"aurora-api","exp":{{now}}-1,"principal":{"type":"machine","organization":"acme","environment":"prod"}}`},
		{"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", `{"iss":"https://evil.example","aud":["aurora-api"],"exp":{{now}}+60,"principal":{"type":"user","organization":"a","environment":"b"}}`},
		{"a.b.c", `{"iss":"{{iss}}","aud":["other"],"exp":{{now}}+60,"nbf":{{now}}+3600,"principal":{"type":"robot","organization":"a","environment":"b"}}`},
		{"", `{"iss":"{{iss}}","aud":["aurora-api"],"principal":{"type":"machine","organization":"acme","environment":"prod"}}`},
	} {
		f.Add(seed.token, []byte(seed.claims))
	}
	f.Fuzz(func(t *testing.T, token string, claims []byte) {
		checkVerify(t, verifier, issuer, token)
		now := strconv.FormatInt(issuer.clock.Now().Unix(), 10)
		payload := strings.ReplaceAll(strings.ReplaceAll(string(claims), "{{iss}}", issuer.URL()), "{{now}}", now)
		payload = resolveSums(payload)
		key := issuer.currentKey()
		checkVerify(t, verifier, issuer, signES(t, jose.ES256, key.private, key.kid, []byte(payload)))
	})
}

// checkVerify verifies token and checks what an accepted token must carry and what a refusal must
// look like.
func checkVerify(t *testing.T, v *Verifier, issuer *testIssuer, token string) {
	t.Helper()
	claims, err := v.Verify(t.Context(), token)
	if err != nil {
		if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrKeySetUnavailable) {
			t.Fatalf("a refusal that is not ErrInvalidToken: %v", err)
		}
		if len(token) > 16 && strings.Contains(err.Error(), token) {
			t.Fatalf("the error repeats the token: %v", err)
		}
		return
	}
	now := issuer.clock.Now()
	switch {
	case claims.Issuer != issuer.URL():
		t.Fatalf("accepted issuer %q", claims.Issuer)
	case !claims.Audience.Contains(testAudience):
		t.Fatalf("accepted audience %v", claims.Audience)
	case claims.Expiry == nil || !claims.Expiry.Time().Add(time.Minute).After(now):
		t.Fatalf("accepted an expired token (exp %v, now %v)", claims.Expiry, now)
	case claims.Principal.Type != principal.User && claims.Principal.Type != principal.Machine:
		t.Fatalf("accepted principal type %q", claims.Principal.Type)
	case claims.Principal.Organization == "" || claims.Principal.Environment == "":
		t.Fatalf("accepted a principal without a tenant: %+v", claims.Principal)
	}
}

// resolveSums turns "123+600" and "123-1" (a number, a sign, a number) into their value, so that
// seeds can name times relative to {{now}}; anything else is left as it is.
func resolveSums(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > i && j < len(s) && (s[j] == '+' || s[j] == '-') {
			k := j + 1
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			a, errA := strconv.ParseInt(s[i:j], 10, 64)
			c, errC := strconv.ParseInt(s[j+1:k], 10, 64)
			if k > j+1 && errA == nil && errC == nil {
				if s[j] == '-' {
					c = -c
				}
				b.WriteString(strconv.FormatInt(a+c, 10))
				i = k
				continue
			}
		}
		if j == i {
			j++
		}
		b.WriteString(s[i:j])
		i = j
	}
	return b.String()
}

// TestFuzzVerifyTemplates checks that the fuzz target's claim templates reach both acceptance and
// each refusal, so that the fuzzer starts from both sides.
func TestFuzzVerifyTemplates(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	now := strconv.FormatInt(issuer.clock.Now().Unix(), 10)
	tests := []struct {
		name, claims string
		want         error
	}{
		{"valid", `{"iss":"{{iss}}","aud":["aurora-api"],"exp":{{now}}+600,"principal":{"type":"machine","organization":"acme","environment":"prod"}}`, nil},
		{"expired", `{"iss":"{{iss}}","aud":"aurora-api","exp":{{now}}-120,"principal":{"type":"machine","organization":"acme","environment":"prod"}}`, ErrExpired},
		{"other issuer", `{"iss":"https://evil.example","aud":["aurora-api"],"exp":{{now}}+60,"principal":{"type":"user","organization":"a","environment":"b"}}`, ErrInvalidIssuer},
		{"no expiry", `{"iss":"{{iss}}","aud":["aurora-api"],"principal":{"type":"machine","organization":"acme","environment":"prod"}}`, ErrMissingExpiry},
		{"unknown principal type", `{"iss":"{{iss}}","aud":["aurora-api"],"exp":{{now}}+60,"principal":{"type":"robot","organization":"a","environment":"b"}}`, ErrInvalidPrincipal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := resolveSums(strings.ReplaceAll(strings.ReplaceAll(tt.claims, "{{iss}}", issuer.URL()), "{{now}}", now))
			key := issuer.currentKey()
			_, err := verifier.Verify(t.Context(), signES(t, jose.ES256, key.private, key.kid, []byte(payload)))
			if tt.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if got := resolveSums(`{"exp":100+20,"nbf":100-1,"x":"a-b"}`); got != `{"exp":120,"nbf":99,"x":"a-b"}` {
		t.Errorf("resolveSums: got %s", got)
	}
}
