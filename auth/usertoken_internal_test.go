package auth

import "testing"

func TestLoginFamiliesAreLabelValues(t *testing.T) {
	for range 500 {
		f, err := newLoginFamily()
		if err != nil {
			t.Fatal(err)
		}
		if !isLabelValue(f) || len(f) > 63 {
			t.Fatalf("login family %q is not a label value", f)
		}
	}
}
