package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

func newTestSealer(t *testing.T) (*Sealer, []byte) {
	t.Helper()
	key, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return sealer, key
}

func TestSealOpenRoundTrip(t *testing.T) {
	sealer, _ := newTestSealer(t)
	tests := []struct {
		name           string
		plaintext      []byte
		associatedData []byte
	}{
		{"short value", []byte("a signing key"), []byte("aurora-system/auth-signing-keys/keys.json")},
		{"empty value", nil, []byte("ns/secret/key")},
		{"no associated data", []byte("value"), nil},
		{"binary value", []byte{0, 1, 2, 255, 0}, []byte("ns/secret/key")},
		{"1 MiB value", bytes.Repeat([]byte("x"), 1<<20), []byte("ns/secret/key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := sealer.Seal(tt.plaintext, tt.associatedData)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Error("the sealed value contains the plaintext")
			}
			if want := minSealedLength + len(tt.plaintext); len(sealed) != want {
				t.Errorf("sealed length = %d, want %d", len(sealed), want)
			}
			opened, err := sealer.Open(sealed, tt.associatedData)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(opened, tt.plaintext) {
				t.Error("opened another plaintext")
			}
		})
	}
}

func TestSealTwiceDiffers(t *testing.T) {
	sealer, _ := newTestSealer(t)
	first, err := sealer.Seal([]byte("same"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := sealer.Seal([]byte("same"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, second) {
		t.Fatal("two seals of one plaintext are equal")
	}
	for _, field := range []struct {
		name       string
		start, end int
	}{{"key nonce", keyNonceOffset, wrappedOffset}, {"wrapped key", wrappedOffset, nonceOffset}, {"nonce", nonceOffset, cipherOffset}, {"ciphertext", cipherOffset, len(first) - checksumSize}} {
		if bytes.Equal(first[field.start:field.end], second[field.start:field.end]) {
			t.Errorf("the %s repeats", field.name)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	sealer, _ := newTestSealer(t)
	otherSealer, _ := newTestSealer(t)
	plaintext := []byte("private key bytes")
	ad := []byte("ns/secret/keys.json")
	sealed, err := sealer.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	withVersion := func(version byte) []byte {
		out := bytes.Clone(sealed)
		out[magicSize] = version
		body := out[:len(out)-checksumSize]
		binary.BigEndian.PutUint32(out[len(body):], crc32.Checksum(body, castagnoli))
		return out
	}
	// An attacker can recompute the checksum: the GCM tags must still catch the change.
	withFlippedCiphertextAndFixedChecksum := func() []byte {
		out := bytes.Clone(sealed)
		out[cipherOffset] ^= 0x01
		body := out[:len(out)-checksumSize]
		binary.BigEndian.PutUint32(out[len(body):], crc32.Checksum(body, castagnoli))
		return out
	}
	tests := []struct {
		name    string
		sealer  *Sealer
		sealed  []byte
		ad      []byte
		wantErr error
	}{
		{"other master key", otherSealer, sealed, ad, ErrWrongMasterKey},
		{"other associated data", sealer, sealed, []byte("ns/other-secret/keys.json"), ErrCorrupt},
		{"no associated data", sealer, sealed, nil, ErrCorrupt},
		{"truncated", sealer, sealed[:len(sealed)-1], ad, ErrCorrupt},
		{"empty", sealer, nil, ad, ErrCorrupt},
		{"plaintext instead of a sealed value", sealer, plaintext, ad, ErrCorrupt},
		{"appended byte", sealer, append(bytes.Clone(sealed), 0), ad, ErrCorrupt},
		{"future format version", sealer, withVersion(2), ad, ErrUnsupportedVersion},
		{"tampered ciphertext with a recomputed checksum", sealer, withFlippedCiphertextAndFixedChecksum(), ad, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opened, err := tt.sealer.Open(tt.sealed, tt.ad)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if opened != nil {
				t.Error("returned a plaintext with the error")
			}
			if strings.Contains(err.Error(), string(plaintext)) {
				t.Errorf("the error contains the plaintext: %v", err)
			}
		})
	}
}

// TestOpenFlippedByte flips every bit of a sealed value in turn: each change must read as corrupt,
// never as a wrong master key, never as success.
func TestOpenFlippedByte(t *testing.T) {
	sealer, _ := newTestSealer(t)
	ad := []byte("ns/secret/keys.json")
	sealed, err := sealer.Seal([]byte("private key bytes"), ad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for bit := range 8 {
			damaged := bytes.Clone(sealed)
			damaged[i] ^= 1 << bit
			if _, err := sealer.Open(damaged, ad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flipping bit %d of byte %d: error = %v, want ErrCorrupt", bit, i, err)
			}
		}
	}
}

func TestWrongMasterKeyMessage(t *testing.T) {
	sealer, key := newTestSealer(t)
	otherSealer, otherKey := newTestSealer(t)
	sealed, err := sealer.Seal([]byte("secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = otherSealer.Open(sealed, nil)
	if err == nil {
		t.Fatal("opened under another master key")
	}
	msg := err.Error()
	for _, want := range []string{"wrong master key", sealer.KeyID(), otherSealer.KeyID()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	for _, k := range [][]byte{key, otherKey} {
		if strings.Contains(msg, EncodeMasterKey(k)) || strings.Contains(msg, string(k)) {
			t.Errorf("error %q contains a master key", msg)
		}
	}
	if id, err := SealedKeyID(sealed); err != nil || id != sealer.KeyID() {
		t.Errorf("SealedKeyID = %q, %v; want %q", id, err, sealer.KeyID())
	}
	if _, err := SealedKeyID(sealed[1:]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("SealedKeyID of a damaged value: error = %v, want ErrCorrupt", err)
	}
	if sealer.KeyID() == otherSealer.KeyID() || len(sealer.KeyID()) != 2*keyIDSize {
		t.Errorf("key ids %q and %q are not distinct 16-digit ids", sealer.KeyID(), otherSealer.KeyID())
	}
}

func TestSameMasterKeyOpensAcrossSealers(t *testing.T) {
	sealer, key := newTestSealer(t)
	sealed, err := sealer.Seal([]byte("value"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := NewSealer(bytes.Clone(key))
	if err != nil {
		t.Fatal(err)
	}
	if restarted.KeyID() != sealer.KeyID() {
		t.Error("one master key has two ids")
	}
	if opened, err := restarted.Open(sealed, []byte("ad")); err != nil || string(opened) != "value" {
		t.Fatalf("Open = %q, %v", opened, err)
	}
}

func TestNewSealer(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		wantErr string
	}{
		{"32 bytes", bytes.Repeat([]byte{7}, 32), ""},
		{"31 bytes", bytes.Repeat([]byte{7}, 31), "is 31 bytes, want 32"},
		{"33 bytes", bytes.Repeat([]byte{7}, 33), "is 33 bytes, want 32"},
		{"16 bytes (AES-128)", bytes.Repeat([]byte{7}, 16), "is 16 bytes, want 32"},
		{"nil", nil, "is 0 bytes, want 32"},
		{"all zero", make([]byte, 32), "all zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSealer(tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSealerIgnoresLaterChangesToTheKeySlice(t *testing.T) {
	sealer, key := newTestSealer(t)
	sealed, err := sealer.Seal([]byte("value"), nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	if _, err := sealer.Open(sealed, nil); err != nil {
		t.Fatalf("Open after clearing the caller's key slice: %v", err)
	}
}

func TestLooksSealed(t *testing.T) {
	key, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("value"), []byte("ns/aurora-secrets/key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   []byte
		want bool
	}{{sealed, true}, {[]byte("value"), false}, {[]byte("AEN"), false}, {nil, false}} {
		if got := LooksSealed(tc.in); got != tc.want {
			t.Errorf("LooksSealed(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
