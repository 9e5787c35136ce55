package clientsecret

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "aur_") || len(secret) < 40 {
		t.Fatalf("secret %q is too short or unmarked", secret)
	}
	hash, err := Hash(secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, secret) || strings.Contains(hash, secret[4:]) {
		t.Fatal("the hash contains the secret")
	}
	other, _ := Hash(secret)
	if other == hash {
		t.Error("two hashes of one secret are equal: the salt is missing")
	}
	tests := []struct {
		name   string
		hash   string
		secret string
		want   bool
	}{
		{"right secret", hash, secret, true},
		{"right secret, other salt", other, secret, true},
		{"wrong secret", hash, secret + "x", false},
		{"empty secret", hash, "", false},
		{"empty hash", "", secret, false},
		{"unknown scheme", strings.Replace(hash, "sha256$", "md5$", 1), secret, false},
		{"truncated hash", hash[:len(hash)-2], secret, false},
		{"not hex", "sha256$zz$zz", secret, false},
		{"the secret itself as hash", secret, secret, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.hash, tt.secret); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewClientIDIsRandomAndLowerCase(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := NewClientID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 24 || strings.ToLower(id) != id {
			t.Fatalf("client id %q: want 24 lower-case characters", id)
		}
		if seen[id] {
			t.Fatalf("client id %q repeated", id)
		}
		seen[id] = true
	}
}
