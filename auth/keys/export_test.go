package keys

import (
	"context"
	"fmt"
)

// PrivateKeyBytesForTest opens every private key in m's Secret and returns their raw scalars, so that
// tests can check the Secret does not hold them in clear.
func PrivateKeyBytesForTest(ctx context.Context, m *Manager) ([][]byte, error) {
	secret, err := m.store.get(ctx)
	if err != nil || secret == nil {
		return nil, fmt.Errorf("get Secret: %v (found: %v)", err, secret != nil)
	}
	file, err := decodeKeyFile(secret.Data[SecretDataKey])
	if err != nil {
		return nil, err
	}
	var scalars [][]byte
	for _, record := range file.Keys {
		private, err := m.sealer.openPrivateKey(record)
		if err != nil {
			return nil, err
		}
		scalar, err := private.Bytes()
		if err != nil {
			return nil, err
		}
		scalars = append(scalars, scalar)
	}
	return scalars, nil
}
