package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// ErrNotLoggedIn says there is no cached login.
var ErrNotLoggedIn = errors.New("not logged in: run aurora login, or give a client id and secret")

// Login is the cached login of a person, written by aurora login beside the configuration as
// credentials (mode 0600).
type Login struct {
	// AuthURL is the issuer the login came from; TokenURL its token endpoint.
	AuthURL  string `json:"authURL"`
	TokenURL string `json:"tokenURL"`
	// User is the person's name; Organization and Tenant the tenant the token is for.
	User         string `json:"user,omitempty"`
	Organization string `json:"organization,omitempty"`
	Tenant       string `json:"tenant,omitempty"`
	// AccessToken, RefreshToken and Expiry are the tokens.
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// LoginPath is the cached login's file: credentials beside the configuration file.
func LoginPath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "credentials")
}

// LoadLogin reads the cached login; ErrNotLoggedIn when there is none.
func LoadLogin(path string) (*Login, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotLoggedIn
	}
	if err != nil {
		return nil, fmt.Errorf("reading the cached login: %w", err)
	}
	l := &Login{}
	if err := json.Unmarshal(data, l); err != nil {
		return nil, fmt.Errorf("cached login %s: %w (run aurora login again)", path, err)
	}
	if l.AccessToken == "" {
		return nil, ErrNotLoggedIn
	}
	return l, nil
}

// Save writes the login to path with mode 0600, atomically.
func (l *Login) Save(path string) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the login: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return fmt.Errorf("writing the login: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the login: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the login: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the login: %w", err)
	}
	return nil
}

// Token is the login's token.
func (l *Login) Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: l.AccessToken, TokenType: "Bearer", RefreshToken: l.RefreshToken, Expiry: l.Expiry}
}

// SetToken takes the tokens of tok.
func (l *Login) SetToken(tok *oauth2.Token) {
	l.AccessToken, l.RefreshToken, l.Expiry = tok.AccessToken, tok.RefreshToken, tok.Expiry
}

// LoginTokens returns a token source over the cached login at path that refreshes the token (for
// the same tenant) when it expires and saves the new one.
func LoginTokens(ctx context.Context, hc *http.Client, path string, l *Login) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(l.Token(), &refreshingSource{ctx: ctx, hc: hc, path: path, login: l})
}

// refreshingSource refreshes a cached login.
type refreshingSource struct {
	ctx   context.Context
	hc    *http.Client
	path  string
	mu    sync.Mutex
	login *Login
}

func (s *refreshingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.login.RefreshToken == "" {
		return nil, errors.New("the cached login expired: run aurora login again")
	}
	tok, err := Refresh(s.ctx, s.hc, s.login.TokenURL, s.login.RefreshToken, s.login.Tenant)
	if err != nil {
		return nil, err
	}
	s.login.SetToken(tok)
	if err := s.login.Save(s.path); err != nil {
		return nil, err
	}
	return tok, nil
}
