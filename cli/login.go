package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/aurora-cd/aurora/cli/apiclient"
)

// loginOutput is what `login -o json|yaml` prints.
type loginOutput struct {
	Type         string `json:"type"`
	Name         string `json:"name,omitempty"`
	Organization string `json:"organization,omitempty"`
	Environment  string `json:"environment,omitempty"`
	Cached       string `json:"cached,omitempty"`
}

func newLoginCommand() *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:     "login",
		GroupID: groupUser,
		Short:   "Log in to Aurora",
		Long: "Logs a person in with the device flow: it prints a URL and a code, the person opens the URL\n" +
			"(in any browser, on any device) and logs in there, and the command waits for it. Then it picks\n" +
			"the tenant: the one named with -e, else the person's first tenant. The login is cached\n" +
			"beside the configuration file as credentials (mode 0600) and refreshed as it expires.\n\n" +
			"With a machine credential (AURORA_CLIENT_ID and AURORA_CLIENT_SECRET, -c and -s, or CI=true\n" +
			"with them) it checks the credential with the client-credentials grant instead; nothing is\n" +
			"cached, the commands use the credential each time.",
		Example: "  aurora login\n  aurora login -e prod\n  AURORA_CLIENT_ID=… AURORA_CLIENT_SECRET=… aurora login",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newSession(cmd)
			if err != nil {
				return err
			}
			machine, err := s.machine()
			if err != nil {
				return err
			}
			if machine {
				return loginMachine(cmd, s)
			}
			return loginPerson(cmd, s, env)
		},
	}
	bindClientFlags(cmd)
	cmd.Flags().StringVarP(&env, "env", "e", "", "The tenant (environment) to use, when the person may use several.")
	cmd.Flags().StringVar(&env, "envName", "", "Same as --env.")
	_ = cmd.Flags().MarkHidden("envName")
	return cmd
}

// loginMachine checks a machine credential: a token, then who the API says it is.
func loginMachine(cmd *cobra.Command, s *session) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	who, err := c.WhoAmI(cmd.Context())
	if err != nil {
		return fmt.Errorf("checking the machine credential: %w", err)
	}
	out := loginOutput{Type: "machine", Name: str(who, "name"), Organization: str(who, "organization"), Environment: str(who, "environment")}
	return printValue(cmd.OutOrStdout(), s.cfg.Output, out, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Authenticated as machine credential %s of tenant %s/%s (client credentials; nothing cached).\n",
			out.Name, out.Organization, out.Environment)
		return err
	})
}

// loginPerson runs the device flow, picks the tenant and caches the login.
func loginPerson(cmd *cobra.Command, s *session, env string) error {
	ctx := cmd.Context()
	is, err := apiclient.Discover(ctx, s.http, s.cfg.AuthURL)
	if err != nil {
		return err
	}
	if s.cfg.APIURL == "" {
		return fmt.Errorf("apiURL is not set: expected it in the configuration file, $AURORA_API_URL or --api-url")
	}
	da, err := apiclient.StartDeviceLogin(ctx, s.http, is)
	if err != nil {
		return err
	}
	// The prompt goes to stderr so that -o json keeps stdout for the result.
	prompt := cmd.ErrOrStderr()
	if s.cfg.Output == outputText {
		prompt = cmd.OutOrStdout()
	}
	fmt.Fprintf(prompt, "To log in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(prompt, "or open %s\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(prompt, "Waiting for the login…")
	tok, err := apiclient.AwaitDeviceLogin(ctx, s.http, is, da)
	if err != nil {
		return err
	}
	c, err := apiclient.New(s.cfg.APIURL, oauth2.StaticTokenSource(tok), s.http)
	if err != nil {
		return err
	}
	envs, err := c.Environments(ctx)
	if err != nil {
		return fmt.Errorf("listing your tenants: %w", err)
	}
	// A person may also switch to the tenants their token names (roles in other environments).
	current := ""
	if who, err := c.WhoAmI(ctx); err == nil {
		envs = withSwitchableTenants(envs, str(who, "organization"), who["tenants"])
		current = str(who, "environment")
	}
	tenant, err := pickTenant(envs, env, current)
	if err != nil {
		return err
	}
	if tok.RefreshToken != "" {
		if tok, err = apiclient.Refresh(ctx, s.http, is.TokenURL, tok.RefreshToken, tenant.Environment); err != nil {
			return fmt.Errorf("switching to tenant %s: %w", tenant.Environment, err)
		}
	}
	login := &apiclient.Login{AuthURL: s.cfg.AuthURL, TokenURL: is.TokenURL, Organization: tenant.Organization, Tenant: tenant.Environment}
	login.SetToken(tok)
	c, err = apiclient.New(s.cfg.APIURL, oauth2.StaticTokenSource(tok), s.http)
	if err != nil {
		return err
	}
	if who, err := c.WhoAmI(ctx); err == nil {
		login.User = str(who, "name")
	}
	if err := login.Save(s.loginPath()); err != nil {
		return err
	}
	out := loginOutput{Type: "user", Name: login.User, Organization: login.Organization, Environment: login.Tenant, Cached: s.loginPath()}
	return printValue(cmd.OutOrStdout(), s.cfg.Output, out, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Welcome %s to tenant %s/%s.\n", orDash(out.Name), out.Organization, out.Environment)
		return err
	})
}

// pickTenant chooses the tenant to log in to: the one named (by environment or id), else the only
// one, else the one the login gave (current, the person's first tenant).
func pickTenant(envs []apiclient.Environment, name, current string) (apiclient.Environment, error) {
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Environment
		if name != "" && (e.Environment == name || e.ID == name) {
			return e, nil
		}
	}
	switch {
	case len(envs) == 0:
		return apiclient.Environment{}, errors.New("you may use no tenant: ask an organization admin for a role")
	case name != "":
		return apiclient.Environment{}, fmt.Errorf("--env %q: expected one of your tenants: %s", name, strings.Join(names, ", "))
	case len(envs) == 1:
		return envs[0], nil
	}
	for _, e := range envs {
		if e.Environment == current {
			return e, nil
		}
	}
	return apiclient.Environment{}, fmt.Errorf("you may use several tenants (%s): name one with -e", strings.Join(names, ", "))
}

// withSwitchableTenants adds the environments a person's token may switch to (the principal's
// tenants) to the tenants the API listed.
func withSwitchableTenants(envs []apiclient.Environment, organization string, tenants any) []apiclient.Environment {
	list, _ := tenants.([]any)
	for _, t := range list {
		name, _ := t.(string)
		if name == "" || slices.ContainsFunc(envs, func(e apiclient.Environment) bool { return e.Environment == name }) {
			continue
		}
		envs = append(envs, apiclient.Environment{ID: organization + ":" + name, Organization: organization, Environment: name})
	}
	return envs
}

// str reads a string field of a JSON object.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func newLogoutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "logout",
		GroupID: groupUser,
		Short:   "Forget the cached login",
		Long: "Revokes the cached login's refresh token at the auth service (when it can be reached) and\n" +
			"deletes the cached login (credentials beside the configuration file).",
		Example: "  aurora logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newSession(cmd)
			if err != nil {
				return err
			}
			p := s.loginPath()
			login, err := apiclient.LoadLogin(p)
			switch {
			case errors.Is(err, apiclient.ErrNotLoggedIn):
				fmt.Fprintln(cmd.OutOrStdout(), "Not logged in.")
				return nil
			case err == nil && login.RefreshToken != "" && login.AuthURL != "":
				ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
				defer cancel()
				if is, err := apiclient.Discover(ctx, s.http, login.AuthURL); err == nil && is.RevocationURL != "" {
					if err := apiclient.Revoke(ctx, s.http, is.RevocationURL, login.RefreshToken); err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "Warning: %v\n", err)
					}
				}
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("deleting the cached login: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Logged out.")
			return nil
		},
	}
	bindClientFlags(cmd)
	return cmd
}
