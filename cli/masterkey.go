package cli

import (
	"fmt"
	"os"

	"github.com/aurora-cd/aurora/internal/envelope"
)

// masterKeyFileUsage is the help of --master-key-file of the components that seal or open tenant
// secrets.
const masterKeyFileUsage = "File holding the 32-byte master key, base64 or hex (the one aurora auth uses), that seals and opens tenant secrets ({{secrets.<key>}}); without it they cannot be set or used."

// sealerFromFile reads the master key of file (flag names the flag, for errors) and returns its
// Sealer; nil without error when file is empty. Errors never quote the key.
func sealerFromFile(flag, file string) (*envelope.Sealer, error) {
	if file == "" {
		return nil, nil
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	key, err := envelope.ParseMasterKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flag, file, err)
	}
	defer clear(key)
	sealer, err := envelope.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flag, file, err)
	}
	return sealer, nil
}
