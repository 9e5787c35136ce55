package auth_test

import (
	"encoding/base64"
	"encoding/json"

	. "github.com/onsi/gomega"
)

// decodeSegment decodes one base64url JSON segment of a JWS.
func decodeSegment(seg string) map[string]any {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	Expect(err).NotTo(HaveOccurred())
	m := map[string]any{}
	Expect(json.Unmarshal(raw, &m)).To(Succeed())
	return m
}

// reencode decodes a segment, changes it and encodes it again.
func reencode(seg string, change func(map[string]any)) string {
	m := decodeSegment(seg)
	change(m)
	raw, err := json.Marshal(m)
	Expect(err).NotTo(HaveOccurred())
	return base64.RawURLEncoding.EncodeToString(raw)
}
