package cli

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/spf13/pflag"
)

func TestResolveConfigPrecedence(t *testing.T) {
	file := Config{APIURL: "https://file-api", AuthURL: "https://file-auth", CAFile: "/file/ca.crt", ClientID: "file-id", ClientSecret: "file-secret", Output: "yaml"}
	tests := []struct {
		name  string
		file  Config
		env   map[string]string
		flags []string
		want  Config
	}{
		{"the file alone", file, nil, nil, file},
		{"nothing gives text output", Config{}, nil, nil, Config{Output: "text"}},
		{"environment variables beat the file", file,
			map[string]string{"AURORA_API_URL": "https://env-api", "AURORA_CLIENT_ID": "env-id", "AURORA_OUTPUT": "json"}, nil,
			Config{APIURL: "https://env-api", AuthURL: "https://file-auth", CAFile: "/file/ca.crt", ClientID: "env-id", ClientSecret: "file-secret", Output: "json"}},
		{"flags beat environment variables", file,
			map[string]string{"AURORA_API_URL": "https://env-api", "AURORA_CLIENT_SECRET": "env-secret", "AURORA_CA_FILE": "/env/ca.crt"},
			[]string{"--api-url", "https://flag-api/", "-s", "flag-secret", "-o", "text"},
			Config{APIURL: "https://flag-api", AuthURL: "https://file-auth", CAFile: "/env/ca.crt", ClientID: "file-id", ClientSecret: "flag-secret", Output: "text"}},
		{"every flag", Config{}, nil,
			[]string{"--api-url=https://a", "--auth-url=https://b", "--ca-file=/c", "-c", "d", "--client-secret=e", "--output=json"},
			Config{APIURL: "https://a", AuthURL: "https://b", CAFile: "/c", ClientID: "d", ClientSecret: "e", Output: "json"}},
		{"an empty environment variable does not override", file, map[string]string{"AURORA_API_URL": ""}, nil, file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ResolveConfig(tt.file, func(k string) string { return tt.env[k] }, parsedFlags(t, tt.flags))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestResolveConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  Config
		flags []string
		want  string
	}{
		{"an unknown output", Config{}, []string{"-o", "table"}, `output "table": expected text, json or yaml`},
		{"a plain http API", Config{APIURL: "http://api"}, nil, `apiURL "http://api": expected an https:// URL`},
		{"a plain http issuer from a flag", Config{}, []string{"--auth-url", "http://auth"}, `authURL "http://auth": expected an https:// URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := ResolveConfig(tt.file, func(string) string { return "" }, parsedFlags(t, tt.flags))
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, text string
		want       Config
		wantErr    string
	}{
		{"YAML", "apiURL: https://api\nauthURL: https://auth\ncaFile: ca.crt\nclientId: id\nclientSecret: s\noutput: json\n",
			Config{APIURL: "https://api", AuthURL: "https://auth", CAFile: "/etc/aurora/ca.crt", ClientID: "id", ClientSecret: "s", Output: "json"}, ""},
		{"JSON with an absolute caFile", `{"apiURL": "https://api", "caFile": "/x/ca.crt"}`, Config{APIURL: "https://api", CAFile: "/x/ca.crt"}, ""},
		{"an unknown field", "apiAddress: https://api\n", Config{}, `unknown field "apiAddress"`},
		{"not a mapping", "- a\n", Config{}, "expected the fields apiURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseConfig([]byte(tt.text), "/etc/aurora")
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestConfigPath(t *testing.T) {
	g := NewWithT(t)
	p, err := ConfigPath(func(k string) string { return map[string]string{"AURORA_CONFIG": "/x/config"}[k] })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p).To(Equal("/x/config"))
	t.Setenv("HOME", "/home/someone")
	p, err = ConfigPath(func(string) string { return "" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p).To(Equal("/home/someone/.aurora/config"))
}

// parsedFlags is the flag set of a user command after parsing args.
func parsedFlags(t *testing.T, args []string) *pflag.FlagSet {
	t.Helper()
	cmd := newValidateCommand()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.AddFlagSet(cmd.PersistentFlags())
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %s: %v", strings.Join(args, " "), err)
	}
	return fs
}
