package apiclient

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
)

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   *Error
	}{
		{"the API's JSON error with details", 400,
			`{"error": {"code": "invalid", "message": "the deploy file is not valid", "details": [{"field": "targets.prod.strategy", "message": "unknown strategy"}]}}`,
			&Error{Status: 400, Code: "invalid", Message: "the deploy file is not valid", Details: []ErrorDetail{{Field: "targets.prod.strategy", Message: "unknown strategy"}}}},
		{"a conflict", 409, `{"error": {"code": "conflict", "message": "potato-facts-abc is in progress"}}`,
			&Error{Status: 409, Code: "conflict", Message: "potato-facts-abc is in progress"}},
		{"a proxy's plain text", 502, "Bad Gateway\n", &Error{Status: 502, Code: "internal", Message: "Bad Gateway"}},
		{"an empty 404", 404, "", &Error{Status: 404, Code: "not_found", Message: "Not Found"}},
		{"JSON of another shape", 401, `{"message": "no"}`, &Error{Status: 401, Code: "unauthenticated", Message: `{"message": "no"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(decodeError(tt.status, []byte(tt.body))).To(Equal(tt.want))
		})
	}
}

func TestErrorText(t *testing.T) {
	g := NewWithT(t)
	err := fmt.Errorf("starting: %w", &Error{Status: 409, Code: "ambiguous", Message: "several gates wait",
		Details: []ErrorDetail{{Field: "staging", Message: "steps[2]"}, {Message: "prod beforeDeployment[0]"}}})
	g.Expect(err.Error()).To(Equal("starting: several gates wait (409 ambiguous)\n  staging: steps[2]\n  prod beforeDeployment[0]"))
	g.Expect(IsCode(err, CodeAmbiguous)).To(BeTrue())
	g.Expect(IsCode(err, CodeConflict)).To(BeFalse())
}
