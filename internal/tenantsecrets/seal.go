package tenantsecrets

import (
	"errors"
	"fmt"

	"github.com/aurora-cd/aurora/internal/envelope"
)

// ErrNoMasterKey means no master key is configured, so secrets can be neither sealed nor opened.
var ErrNoMasterKey = errors.New("no master key is configured (--master-key-file), so tenant secrets cannot be sealed or opened")

// Seal seals value for key of namespace's store.
func Seal(sealer *envelope.Sealer, namespace, key string, value []byte) ([]byte, error) {
	if sealer == nil {
		return nil, ErrNoMasterKey
	}
	sealed, err := sealer.Seal(value, AssociatedData(namespace, key))
	if err != nil {
		return nil, fmt.Errorf("sealing secret %q: %w", key, err)
	}
	return sealed, nil
}

// Open opens the stored value of key of namespace's store. A value that is not sealed (written as
// plain text) or does not open is an error naming the key and saying how to set it; it never
// quotes the value.
func Open(sealer *envelope.Sealer, namespace, key string, stored []byte) ([]byte, error) {
	if sealer == nil {
		return nil, fmt.Errorf("secret %q: %w", key, ErrNoMasterKey)
	}
	if !envelope.LooksSealed(stored) {
		return nil, fmt.Errorf("secret %q of Secret %s/%s is not sealed (it was written as plain text, not through the API), so it is not used; %s",
			key, namespace, StoreName, howToSet(key))
	}
	value, err := sealer.Open(stored, AssociatedData(namespace, key))
	switch {
	case errors.Is(err, envelope.ErrWrongMasterKey):
		return nil, fmt.Errorf("secret %q of Secret %s/%s was sealed under another master key; %s: %w", key, namespace, StoreName, howToSet(key), err)
	case err != nil:
		return nil, fmt.Errorf("secret %q of Secret %s/%s does not open (damaged, or copied from another tenant or key); %s: %w", key, namespace, StoreName, howToSet(key), err)
	}
	return value, nil
}
