package rna

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
	"k8s.io/client-go/rest"

	"github.com/aurora-cd/aurora/auth/verify"
)

func validOptions() Options {
	return Options{
		HubAddress: "hub.example:443", TLS: &tls.Config{MinVersion: tls.VersionTLS10}, TokenSource: verify.StaticToken("t"),
		AgentIdentifier: "staging", Target: &rest.Config{Host: "https://127.0.0.1:6443"},
	}
}

func TestOptionsDefaults(t *testing.T) {
	in := validOptions()
	got, err := in.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string][2]time.Duration{
		"InitialBackoff": {got.InitialBackoff, time.Second}, "MaxBackoff": {got.MaxBackoff, 30 * time.Second},
		"BackoffResetAfter": {got.BackoffResetAfter, 30 * time.Second}, "DialTimeout": {got.DialTimeout, 10 * time.Second},
		"SendTimeout": {got.SendTimeout, 10 * time.Second}, "InventoryInterval": {got.InventoryInterval, 30 * time.Second},
		"TargetTimeout": {got.TargetTimeout, 30 * time.Second},
	} {
		if d[0] != d[1] {
			t.Errorf("%s = %s, want %s", name, d[0], d[1])
		}
	}
	if got.Now == nil || got.Random == nil || got.Log.GetSink() == nil || got.Registerer == nil {
		t.Error("Now, Random, Log and Registerer must be defaulted")
	}
	if got.TLS.MinVersion != tls.VersionTLS12 || in.TLS.MinVersion != tls.VersionTLS10 {
		t.Errorf("TLS MinVersion = %x (caller's %x): want TLS 1.2 on a copy", got.TLS.MinVersion, in.TLS.MinVersion)
	}
	if _, ok := got.Credentials.(*verify.BearerCredentials); !ok {
		t.Errorf("Credentials = %T, want bearer credentials from the TokenSource", got.Credentials)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no hub", func(o *Options) { o.HubAddress = "" }, "HubAddress"},
		{"no TLS", func(o *Options) { o.TLS = nil }, "TLS"},
		{"no credential", func(o *Options) { o.TokenSource = nil }, "exactly one of Credentials and TokenSource"},
		{"two credentials", func(o *Options) { o.Credentials = verify.NewBearerCredentials(verify.StaticToken("x")) }, "exactly one"},
		{"no identifier", func(o *Options) { o.AgentIdentifier = "" }, "AgentIdentifier"},
		{"no target", func(o *Options) { o.Target = nil }, "Target"},
		{"negative timeout", func(o *Options) { o.SendTimeout = -time.Second }, "SendTimeout must not be negative"},
		{"max below initial", func(o *Options) { o.InitialBackoff, o.MaxBackoff = time.Minute, time.Second }, "MaxBackoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.mutate(&o)
			if _, err := o.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestOptionsKeepCredentials(t *testing.T) {
	o := validOptions()
	var creds credentials.PerRPCCredentials = verify.NewBearerCredentials(verify.StaticToken("x"))
	o.TokenSource, o.Credentials = nil, creds
	got, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Credentials != creds {
		t.Error("the given Credentials were replaced")
	}
}

func TestNewDoesNotContactTheCluster(t *testing.T) {
	o := validOptions()
	o.Target = &rest.Config{Host: "https://127.0.0.1:1", Timeout: time.Second}
	start := time.Now()
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if a.Connected() {
		t.Error("a new agent is connected")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("New took %s: it must not wait for the cluster", d)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New accepted empty options")
	}
}

func TestRunWaitsForAnUnreachableTargetAndStops(t *testing.T) {
	o := validOptions()
	o.Target = &rest.Config{Host: "https://127.0.0.1:1", Timeout: time.Second}
	o.InitialBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run ended with %v, want nil once ctx ends", err)
	}
	if a.Connected() {
		t.Error("connected without a target cluster")
	}
}
