package server

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentIsValid loads the embedded document with kin-openapi and validates it
// against the OpenAPI 3 rules (references resolve, schemas are well-formed, ...).
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument())
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
}

// TestOpenAPIDocumentsEveryRoute checks that every registered route is documented and every
// documented operation is registered, with the same method and path, and that the security of
// each operation matches whether the route needs a token.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument())
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	documented := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	registered := map[string]route{}
	for _, rt := range (&Server{}).routes() {
		registered[rt.method+" "+rt.pattern] = rt
	}
	for key, rt := range registered {
		op, ok := documented[key]
		if !ok {
			t.Errorf("route %s is registered but not in openapi.json", key)
			continue
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != rt.public {
			t.Errorf("route %s: public=%t, but openapi.json says public=%t", key, rt.public, public)
		}
		if !rt.public && op.Responses.Value("401") == nil {
			t.Errorf("route %s needs a token but documents no 401", key)
		}
	}
	for key := range documented {
		if _, ok := registered[key]; !ok {
			t.Errorf("openapi.json documents %s, which no route serves", key)
		}
	}
}

func TestAllowedMethods(t *testing.T) {
	routes := (&Server{}).routes()
	tests := map[string]string{
		"/pipelines":                          "GET, HEAD",
		"/pipelines/abc":                      "GET, HEAD",
		"/pipelines/kubernetes":               "GET, HEAD, POST", // {id} matches kubernetes too
		"/pipelines/abc/approve":              "POST",
		"/credentials/x":                      "DELETE, GET, HEAD",
		"/secrets/ciToken":                    "DELETE, PUT",
		"/webhooks/p/t/steps%5B1%5D/callback": "POST",
		"/nothing":                            "",
		"/pipelines/abc/approve/more":         "",
		"/pipelines/":                         "",
	}
	for path, want := range tests {
		if got := strings.Join(allowedMethods(routes, path), ", "); got != want {
			t.Errorf("allowedMethods(%q) = %q, want %q", path, got, want)
		}
	}
	if !slices.ContainsFunc(routes, func(r route) bool { return r.pattern == "/openapi.json" && r.public }) {
		t.Error("/openapi.json must be public")
	}
}

// TestOpenAPISchemasDocumentTheAnswers checks that the schemas of openapi.json name every JSON field
// of the Go types the handlers answer with, so that a field added to an answer is documented.
func TestOpenAPISchemasDocumentTheAnswers(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument())
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	schemas := doc.Components.Schemas
	property := func(s *openapi3.Schema, name string) *openapi3.Schema {
		if s == nil || s.Properties[name] == nil {
			return nil
		}
		return s.Properties[name].Value
	}
	tests := []struct {
		name   string
		schema *openapi3.Schema
		answer any
	}{
		{"TargetDeployment", schemas["TargetDeployment"].Value, TargetDeployment{}},
		{"TargetDeployment.steps[]", property(schemas["TargetDeployment"].Value, "steps").Items.Value, RolloutStep{}},
		{"TargetDeployment.blueGreen", property(schemas["TargetDeployment"].Value, "blueGreen"), RolloutBlueGreen{}},
		{"StepPreview", schemas["StepPreview"].Value, StepPreview{}},
		{"BlueGreenCondition", schemas["BlueGreenCondition"].Value, BlueGreenConditionView{}},
		{"Step", schemas["Step"].Value, Step{}},
		{"Step.deployment", property(schemas["Step"].Value, "deployment"), StepDeployment{}},
		{"Role", schemas["Role"].Value, Role{}},
		{"Environment", schemas["Environment"].Value, Environment{}},
		{"Secret", schemas["Secret"].Value, Secret{}},
		{"SecretRequest", schemas["SecretRequest"].Value, SecretRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.schema == nil {
				t.Fatalf("openapi.json has no schema %s", tt.name)
			}
			for _, field := range jsonFieldNames(reflect.TypeOf(tt.answer)) {
				if tt.schema.Properties[field] == nil {
					t.Errorf("schema %s does not document the field %q", tt.name, field)
				}
			}
		})
	}
}

// jsonFieldNames are the JSON names of a struct's fields, those of embedded structs included.
func jsonFieldNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			out = append(out, jsonFieldNames(f.Type)...)
		case name != "":
			out = append(out, name)
		}
	}
	return out
}
