// Package browser drives a headless Chromium from Go tests (through chromedp): a fresh profile per
// browser, the test's own CA trusted by pinning the serving key, every console error, uncaught
// exception and Content-Security-Policy violation of the page collected, and PNG screenshots saved
// as test artefacts.
package browser

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ScreenshotsDirEnv names the environment variable with the directory screenshots are saved in.
const ScreenshotsDirEnv = "AURORA_SCREENSHOTS_DIR"

// ExecPathEnv names the environment variable that may point at the Chromium binary.
const ExecPathEnv = "AURORA_CHROMIUM"

// Options configure a browser.
type Options struct {
	// TrustedCertificates are PEM certificates whose public keys the browser trusts for TLS
	// although no public CA signed them (the serving certificates of the test's CA).
	TrustedCertificates [][]byte
	// ScreenshotsDir receives the screenshots. Default: $AURORA_SCREENSHOTS_DIR, else a new
	// temporary directory.
	ScreenshotsDir string
	// Width and Height of the window. Default 1280 × 900.
	Width, Height int
}

// Browser is a running headless Chromium with one tab.
type Browser struct {
	// Ctx is the chromedp context of the tab; cancel it (Stop) to end the browser.
	Ctx context.Context
	// ScreenshotsDir is where Screenshot writes.
	ScreenshotsDir string

	stop       func()
	profileDir string
	mu         sync.Mutex
	problems   []string
}

// ExecPath finds Chromium: $AURORA_CHROMIUM, else chromium, chromium-browser or google-chrome on
// the PATH.
func ExecPath() (string, error) {
	if p := os.Getenv(ExecPathEnv); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found: install it (Debian: apt-get install -y chromium) or set %s", ExecPathEnv)
}

// SPKIPin is the base64 SHA-256 of a PEM certificate's public key, as Chromium's
// --ignore-certificate-errors-spki-list takes it.
func SPKIPin(certPEM []byte) (string, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return "", errors.New("pinning a certificate: no PEM block found")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("pinning a certificate: %w", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// Start starts Chromium headless with a fresh profile and opens a blank tab.
func Start(parent context.Context, opts Options) (_ *Browser, err error) {
	execPath, err := ExecPath()
	if err != nil {
		return nil, err
	}
	if opts.Width == 0 || opts.Height == 0 {
		opts.Width, opts.Height = 1280, 900
	}
	if opts.ScreenshotsDir == "" {
		opts.ScreenshotsDir = os.Getenv(ScreenshotsDirEnv)
	}
	if opts.ScreenshotsDir == "" {
		if opts.ScreenshotsDir, err = os.MkdirTemp("", "aurora-screenshots-"); err != nil {
			return nil, fmt.Errorf("creating a directory for screenshots: %w", err)
		}
	}
	if err := os.MkdirAll(opts.ScreenshotsDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the screenshots directory: %w", err)
	}
	profile, err := os.MkdirTemp("", "aurora-chromium-")
	if err != nil {
		return nil, fmt.Errorf("creating a browser profile directory: %w", err)
	}
	pins := make([]string, 0, len(opts.TrustedCertificates))
	for _, c := range opts.TrustedCertificates {
		pin, err := SPKIPin(c)
		if err != nil {
			return nil, err
		}
		pins = append(pins, pin)
	}
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
	}
	if len(pins) > 0 {
		allocOpts = append(allocOpts, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(pins, ",")))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, allocOpts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{Ctx: ctx, ScreenshotsDir: opts.ScreenshotsDir, profileDir: profile,
		stop: func() { cancelTab(); cancelAlloc() }}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	// Start the browser before subscribing to its events.
	if err := chromedp.Do(ctx); err != nil {
		return nil, fmt.Errorf("starting %s: %w", execPath, err)
	}
	b.collectProblems()
	if _, err := chromedp.Call(ctx, log.Enable, struct{}{}); err != nil {
		return nil, fmt.Errorf("enabling the browser's log: %w", err)
	}
	return b, nil
}

// collectProblems records console errors, uncaught exceptions and browser log errors (CSP
// violations, failed loads) of the page.
func (b *Browser) collectProblems() {
	console := chromedp.Events(b.Ctx, runtime.ConsoleAPICalled)
	exceptions := chromedp.Events(b.Ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(b.Ctx, log.EntryAdded)
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					if a.Description != "" {
						parts = append(parts, a.Description)
					} else {
						parts = append(parts, string(a.Value))
					}
				}
				b.addProblem("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			b.addProblem(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if e := ev.Entry; e != nil && e.Level == log.EntryLevelError {
				b.addProblem(fmt.Sprintf("browser log (%s): %s %s", e.Source, e.Text, e.URL))
			}
		}
	}()
}

func (b *Browser) addProblem(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// Problems are the console errors, uncaught exceptions and browser log errors seen so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Screenshot saves a PNG of the whole page as <ScreenshotsDir>/<name>.png and returns its path.
func (b *Browser) Screenshot(name string) (string, error) {
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", fmt.Errorf("taking screenshot %s: %w", name, err)
	}
	path := filepath.Join(b.ScreenshotsDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", fmt.Errorf("writing screenshot %s: %w", path, err)
	}
	return path, nil
}

// Stop ends the browser and removes its profile.
func (b *Browser) Stop() {
	b.stop()
	_ = os.RemoveAll(b.profileDir)
}
