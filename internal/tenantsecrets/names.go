package tenantsecrets

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// StoreName is the Secret of a tenant namespace that holds the tenant's sealed secrets.
const StoreName = "aurora-secrets"

// MaxValueBytes bounds a secret's value (before sealing).
const MaxValueBytes = 64 << 10

// ValidateName checks that name can be a key of a Secret's data (letters, digits, '-', '_' and '.',
// at most 253 characters) and can be written in a template as {{secrets.<name>}}. The error says
// what was expected.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("a secret needs a name: letters, digits, '-', '_' or '.' (at most 253 characters), such as ciToken")
	}
	if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
		return fmt.Errorf("secret name %q is not valid: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// ValidateValue checks a secret's value: not empty and at most MaxValueBytes. The error never
// quotes the value.
func ValidateValue(value []byte) error {
	switch {
	case len(value) == 0:
		return fmt.Errorf("the secret's value is empty; expected 1 to %d bytes", MaxValueBytes)
	case len(value) > MaxValueBytes:
		return fmt.Errorf("the secret's value is %d bytes; expected at most %d", len(value), MaxValueBytes)
	}
	return nil
}

// AssociatedData is what a value of key in namespace's store is sealed for: its place.
func AssociatedData(namespace, key string) []byte {
	return []byte(namespace + "/" + StoreName + "/" + key)
}

// howToSet says how a user sets the secret key.
func howToSet(key string) string {
	return fmt.Sprintf("set it with `aurora secrets set %s` (the value is read from stdin)", key)
}
