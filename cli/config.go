package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// ConfigEnv names the environment variable that points at the CLI configuration file.
const ConfigEnv = "AURORA_CONFIG"

// Config is what the user commands need to reach Aurora: the CLI configuration file
// (~/.aurora/config or $AURORA_CONFIG, YAML or JSON), overridden by AURORA_* environment
// variables, overridden by flags.
type Config struct {
	// APIURL is the REST API's base URL (AURORA_API_URL, --api-url).
	APIURL string `json:"apiURL,omitempty"`
	// AuthURL is the auth service, the OIDC issuer (AURORA_AUTH_URL, --auth-url).
	AuthURL string `json:"authURL,omitempty"`
	// CAFile is a PEM file of the CA certificates to trust instead of the system roots (AURORA_CA_FILE, --ca-file).
	CAFile string `json:"caFile,omitempty"`
	// ClientID is a machine credential's client id (AURORA_CLIENT_ID, -c/--client-id).
	ClientID string `json:"clientId,omitempty"`
	// ClientSecret is that credential's secret (AURORA_CLIENT_SECRET, -s/--client-secret).
	ClientSecret string `json:"clientSecret,omitempty"`
	// Output is the output format: text, json or yaml (AURORA_OUTPUT, -o/--output).
	Output string `json:"output,omitempty"`
}

// configSetting ties one Config field to its environment variable and flag.
type configSetting struct {
	env, flag string
	field     func(*Config) *string
}

var configSettings = []configSetting{
	{"AURORA_API_URL", "api-url", func(c *Config) *string { return &c.APIURL }},
	{"AURORA_AUTH_URL", "auth-url", func(c *Config) *string { return &c.AuthURL }},
	{"AURORA_CA_FILE", "ca-file", func(c *Config) *string { return &c.CAFile }},
	{"AURORA_CLIENT_ID", "client-id", func(c *Config) *string { return &c.ClientID }},
	{"AURORA_CLIENT_SECRET", "client-secret", func(c *Config) *string { return &c.ClientSecret }},
	{"AURORA_OUTPUT", "output", func(c *Config) *string { return &c.Output }},
}

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
	outputYAML = "yaml"
)

// ConfigPath returns the configuration file's path: $AURORA_CONFIG, else ~/.aurora/config.
func ConfigPath(getenv func(string) string) (string, error) {
	if p := getenv(ConfigEnv); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory for ~/.aurora/config (set %s instead): %w", ConfigEnv, err)
	}
	return filepath.Join(home, ".aurora", "config"), nil
}

// ParseConfig decodes a configuration file (YAML or JSON). Unknown fields are errors that name
// the field. A relative caFile is taken relative to the file's directory dir.
func ParseConfig(data []byte, dir string) (Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("expected the fields apiURL, authURL, caFile, clientId, clientSecret, output: %w", err)
	}
	if c.CAFile != "" && !filepath.IsAbs(c.CAFile) {
		c.CAFile = filepath.Join(dir, c.CAFile)
	}
	return c, nil
}

// ResolveConfig layers the file's settings, the environment (getenv) and the flags that were set
// on the command line: flags beat environment variables, which beat the file. It checks the result.
func ResolveConfig(file Config, getenv func(string) string, flags *pflag.FlagSet) (Config, error) {
	c := file
	for _, s := range configSettings {
		if v := getenv(s.env); v != "" {
			*s.field(&c) = v
		}
		if flags != nil {
			if f := flags.Lookup(s.flag); f != nil && f.Changed {
				*s.field(&c) = f.Value.String()
			}
		}
	}
	if c.Output == "" {
		c.Output = outputText
	}
	switch c.Output {
	case outputText, outputJSON, outputYAML:
	default:
		return Config{}, fmt.Errorf("output %q: expected text, json or yaml", c.Output)
	}
	for name, u := range map[string]string{"apiURL": c.APIURL, "authURL": c.AuthURL} {
		if u != "" && !strings.HasPrefix(u, "https://") {
			return Config{}, fmt.Errorf("%s %q: expected an https:// URL", name, u)
		}
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.AuthURL = strings.TrimRight(c.AuthURL, "/")
	return c, nil
}

// LoadConfig reads the configuration file (a missing file is an empty one) and applies the
// environment and the flags of cmd.
func LoadConfig(cmd *cobra.Command, getenv func(string) string) (Config, string, error) {
	path, err := ConfigPath(getenv)
	if err != nil {
		return Config{}, "", err
	}
	var file Config
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Config{}, "", fmt.Errorf("reading the configuration %s: %w", path, err)
	default:
		if file, err = ParseConfig(data, filepath.Dir(path)); err != nil {
			return Config{}, "", fmt.Errorf("configuration %s: %w", path, err)
		}
	}
	c, err := ResolveConfig(file, getenv, cmd.Flags())
	if err != nil {
		return Config{}, "", err
	}
	return c, path, nil
}

// bindClientFlags adds the flags every user command shares, as persistent flags of cmd.
func bindClientFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("api-url", "", "Base URL of Aurora's REST API (default: apiURL of the configuration, or $AURORA_API_URL).")
	f.String("auth-url", "", "URL of Aurora's auth service, the OIDC issuer (default: authURL, or $AURORA_AUTH_URL).")
	f.String("ca-file", "", "PEM file of the CA certificates to trust instead of the system roots (default: caFile, or $AURORA_CA_FILE).")
	f.StringP("client-id", "c", "", "Client id of a machine credential (default: clientId, or $AURORA_CLIENT_ID).")
	f.StringP("client-secret", "s", "", "Secret of that credential (default: clientSecret, or $AURORA_CLIENT_SECRET).")
	f.StringP("output", "o", "", "Output format: text, json or yaml (default: output of the configuration, or text).")
}
