package users

import (
	"strings"
	"testing"
)

func TestPasswordHashVerifies(t *testing.T) {
	hash, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the expected parameters", hash)
	}
	if !VerifyPassword(hash, "correct horse battery staple") {
		t.Error("the right password does not verify")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", strings.Repeat("x", MaxPasswordLength+1)} {
		if VerifyPassword(hash, wrong) {
			t.Errorf("%q verifies", wrong)
		}
	}
	again, _ := HashPassword("correct horse battery staple")
	if again == hash {
		t.Error("two hashes of one password are equal: no salt")
	}
}

func TestHashPasswordRefusesWeakOrHugePasswords(t *testing.T) {
	for _, pw := range []string{"", "short", strings.Repeat("x", MinPasswordLength-1), strings.Repeat("x", MaxPasswordLength+1)} {
		if _, err := HashPassword(pw); err == nil || !strings.HasPrefix(err.Error(), "password: want") {
			t.Errorf("HashPassword(%d characters): error %v, want one naming the password and the bound", len(pw), err)
		}
	}
}

func TestVerifyPasswordRefusesMalformedOrCostlyHashes(t *testing.T) {
	for _, hash := range []string{
		"",
		"sha256$00$00",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=9999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", // 9.5 GiB per login
		"$argon2id$v=19$m=19456,t=99,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, err := parseHash(hash); err == nil {
			t.Errorf("parseHash(%q) accepted it", hash)
		}
		if VerifyPassword(hash, "anything at all") {
			t.Errorf("%q verifies", hash)
		}
	}
}

// BenchmarkVerifyPassword measures what one login costs the auth service (argon2id, 19 MiB, 2 passes).
func BenchmarkVerifyPassword(b *testing.B) {
	hash, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		VerifyPassword(hash, "correct horse battery staple")
	}
}
