package tenantsecrets

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aurora-cd/aurora/internal/envelope"
)

func newSealer(t *testing.T) *envelope.Sealer {
	t.Helper()
	key, err := envelope.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := envelope.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantErr string
	}{
		{"camel case", "ciToken", ""},
		{"dots dashes underscores", "slack.hook-url_2", ""},
		{"empty", "", "needs a name"},
		{"slash", "a/b", `secret name "a/b" is not valid`},
		{"space", "ci token", "is not valid"},
		{"braces", "{{x}}", "is not valid"},
		{"dot only", ".", "is not valid"},
		{"too long", strings.Repeat("a", 254), "is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v", tt.key, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateName(%q) = %v, want an error containing %q", tt.key, err, tt.wantErr)
			}
		})
	}
}

func TestValidateValue(t *testing.T) {
	tests := []struct {
		name    string
		value   []byte
		wantErr string
	}{
		{"one byte", []byte("x"), ""},
		{"at the bound", make([]byte, MaxValueBytes), ""},
		{"empty", nil, "is empty"},
		{"over the bound", []byte(strings.Repeat("s", MaxValueBytes+1)), "expected at most 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateValue(tt.value)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if len(tt.value) > 0 && strings.Contains(err.Error(), "sss") {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	sealer, other := newSealer(t), newSealer(t)
	const plaintext = "s3cr3t-token-value"
	sealed, err := Seal(sealer, "aurora-acme-prod", "ciToken", []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), plaintext) || strings.Contains(string(sealed), base64.StdEncoding.EncodeToString([]byte(plaintext))) {
		t.Fatal("the sealed value contains the plaintext")
	}
	damaged := []byte(string(sealed))
	damaged[len(damaged)/2] ^= 1
	tests := []struct {
		name      string
		sealer    *envelope.Sealer
		namespace string
		key       string
		stored    []byte
		wantErr   []string
	}{
		{"opens where it was sealed", sealer, "aurora-acme-prod", "ciToken", sealed, nil},
		{"plain text written with kubectl", sealer, "aurora-acme-prod", "ciToken", []byte(plaintext),
			[]string{`secret "ciToken"`, "is not sealed", "aurora secrets set ciToken"}},
		{"copied to another tenant", sealer, "aurora-acme-dev", "ciToken", sealed,
			[]string{`secret "ciToken"`, "does not open", "aurora secrets set ciToken"}},
		{"copied to another key", sealer, "aurora-acme-prod", "slackHook", sealed,
			[]string{`secret "slackHook"`, "does not open", "aurora secrets set slackHook"}},
		{"damaged", sealer, "aurora-acme-prod", "ciToken", damaged, []string{"does not open"}},
		{"another master key", other, "aurora-acme-prod", "ciToken", sealed, []string{"another master key", "aurora secrets set ciToken"}},
		{"no master key", nil, "aurora-acme-prod", "ciToken", sealed, []string{`secret "ciToken"`, "--master-key-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.sealer, tt.namespace, tt.key, tt.stored)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != plaintext {
					t.Fatalf("opened %q, want the sealed value", got)
				}
				return
			}
			if err == nil {
				t.Fatal("opened, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), plaintext) {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
	if _, err := Seal(nil, "ns", "k", []byte("v")); err == nil || !strings.Contains(err.Error(), "--master-key-file") {
		t.Errorf("Seal without a master key = %v, want ErrNoMasterKey", err)
	}
}

func TestUpdateTimes(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	data := map[string][]byte{"a": nil, "b": nil}
	tests := []struct {
		name       string
		annotation string
		key        string
		now        time.Time
		data       map[string][]byte
		want       []Entry
	}{
		{"first key", "", "a", t1, map[string][]byte{"a": nil}, []Entry{{"a", t1}}},
		{"second key keeps the first", `{"a":"2026-01-02T03:04:05Z"}`, "b", t2, data, []Entry{{"a", t1}, {"b", t2}}},
		{"update", `{"a":"2026-01-02T03:04:05Z"}`, "a", t2, map[string][]byte{"a": nil}, []Entry{{"a", t2}}},
		{"delete", `{"a":"2026-01-02T03:04:05Z","b":"2026-01-02T04:04:05Z"}`, "b", time.Time{}, map[string][]byte{"a": nil}, []Entry{{"a", t1}}},
		{"keys written without the API have no time", `{"a":"2026-01-02T03:04:05Z"}`, "a", t1, data, []Entry{{"a", t1}, {"b", time.Time{}}}},
		{"damaged annotation", `{not json`, "b", t2, data, []Entry{{"a", time.Time{}}, {"b", t2}}},
		{"keys gone from data are dropped", `{"gone":"2026-01-02T03:04:05Z"}`, "a", t1, map[string][]byte{"a": nil}, []Entry{{"a", t1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			annotation := withUpdate(tt.annotation, tt.key, tt.now, tt.data)
			if strings.Contains(annotation, "gone") {
				t.Errorf("annotation %s keeps a key not in data", annotation)
			}
			got := Entries(tt.data, annotation)
			if len(got) != len(tt.want) {
				t.Fatalf("entries = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || !got[i].UpdatedAt.Equal(tt.want[i].UpdatedAt) {
					t.Errorf("entries[%d] = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestResolverWithoutMasterKey(t *testing.T) {
	resolve := (&Store{}).Resolver(t.Context(), "aurora-acme-prod")
	_, err := resolve("ciToken")
	if err == nil || !strings.Contains(err.Error(), `secret "ciToken"`) || !strings.Contains(err.Error(), "--master-key-file") {
		t.Fatalf("error = %v, want one naming the secret and the missing --master-key-file", err)
	}
}
