package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseMasterKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(0xf0 + i) // some bytes that need the base64 alphabets' '+' '/' or '-' '_'
	}
	short := key[:31]
	tests := []struct {
		name    string
		text    string
		want    []byte
		wantErr string
	}{
		{"standard base64", base64.StdEncoding.EncodeToString(key), key, ""},
		{"standard base64 without padding", base64.RawStdEncoding.EncodeToString(key), key, ""},
		{"URL base64", base64.URLEncoding.EncodeToString(key), key, ""},
		{"URL base64 without padding", base64.RawURLEncoding.EncodeToString(key), key, ""},
		{"base64 with a trailing newline", base64.StdEncoding.EncodeToString(key) + "\n", key, ""},
		{"lower-case hex", hex.EncodeToString(key), key, ""},
		{"upper-case hex surrounded by spaces", "  " + strings.ToUpper(hex.EncodeToString(key)) + " \t\n", key, ""},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(short), nil, "got base64 of 31 bytes"},
		{"hex of 31 bytes", hex.EncodeToString(short), nil, "got 62 hexadecimal digits (31 bytes)"},
		{"base64 of 33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)), nil, "got base64 of 33 bytes"},
		{"hex of 32 bytes with one digit missing", hex.EncodeToString(key)[1:], nil, "63 hexadecimal digits"},
		{"garbage", "this is not a key!", nil, "neither base64 nor hexadecimal"},
		{"empty", "", nil, "it is empty"},
		{"only whitespace", " \n", nil, "it is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMasterKey(tt.text)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tt.want) {
					t.Errorf("parsed %x, want %x", got, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "expected 32 bytes") {
				t.Errorf("error %q does not say what was expected", err)
			}
			if trimmed := strings.TrimSpace(tt.text); len(trimmed) > 8 && strings.Contains(err.Error(), trimmed) {
				t.Errorf("error %q quotes the input", err)
			}
		})
	}
}

func TestNewMasterKey(t *testing.T) {
	first, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != MasterKeySize || bytes.Equal(first, second) {
		t.Fatalf("keys of %d and %d bytes, equal: %v", len(first), len(second), bytes.Equal(first, second))
	}
	parsed, err := ParseMasterKey(EncodeMasterKey(first))
	if err != nil || !bytes.Equal(parsed, first) {
		t.Fatalf("ParseMasterKey(EncodeMasterKey(key)) = %x, %v", parsed, err)
	}
}
