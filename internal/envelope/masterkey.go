package envelope

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// masterKeyFormats describes the accepted encodings of a master key, for error messages.
const masterKeyFormats = "expected 32 bytes as base64 (44 characters, or 43 without padding; standard or URL alphabet) or as 64 hexadecimal digits"

// base64Encodings are the base64 variants ParseMasterKey accepts.
var base64Encodings = []*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

// NewMasterKey returns a new random 32-byte master key.
func NewMasterKey() ([]byte, error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return key, nil
}

// EncodeMasterKey returns key in standard padded base64, a form ParseMasterKey reads.
func EncodeMasterKey(key []byte) string {
	return base64.StdEncoding.EncodeToString(key)
}

// ParseMasterKey decodes a master key from text: base64 (standard or URL alphabet, padded or not) of
// exactly 32 bytes, or 64 hexadecimal digits. Surrounding whitespace (such as a file's trailing
// newline) is ignored. Errors describe the input's shape, never its content.
func ParseMasterKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("parse master key: it is empty; " + masterKeyFormats)
	}
	if len(text) == 2*MasterKeySize && isHex(text) {
		key, err := hex.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("parse master key: invalid hexadecimal; %s", masterKeyFormats)
		}
		return key, nil
	}
	for _, encoding := range base64Encodings {
		key, err := encoding.DecodeString(text)
		if err != nil {
			continue
		}
		if len(key) == MasterKeySize {
			return key, nil
		}
		clear(key)
		if !isHex(text) {
			return nil, fmt.Errorf("parse master key: got base64 of %d bytes; %s", len(key), masterKeyFormats)
		}
		break // hexadecimal digits are base64 too, but the text more likely means hex
	}
	if isHex(text) {
		if len(text)%2 == 0 {
			return nil, fmt.Errorf("parse master key: got %d hexadecimal digits (%d bytes); %s", len(text), len(text)/2, masterKeyFormats)
		}
		return nil, fmt.Errorf("parse master key: got %d hexadecimal digits; %s", len(text), masterKeyFormats)
	}
	return nil, fmt.Errorf("parse master key: %d characters that are neither base64 nor hexadecimal; %s", len(text), masterKeyFormats)
}

// isHex reports whether s consists of hexadecimal digits only.
func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
