package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-jose/go-jose/v4/jwt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// hubTLS returns the server and client TLS configurations of a test CA's serving certificate for
// 127.0.0.1, made with the repository's internal/tlsutil as the Hub will.
func hubTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ca, err := tlsutil.NewCA("aurora-verify-test-ca", time.Hour)
	if err != nil {
		t.Fatalf("creating CA: %v", err)
	}
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatalf("issuing serving certificate: %v", err)
	}
	server, err = tlsutil.ServerConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("server TLS config: %v", err)
	}
	client, err = tlsutil.ClientConfig(ca.CertPEM)
	if err != nil {
		t.Fatalf("client TLS config: %v", err)
	}
	return server, client
}

// requireClaimsInContext is a server interceptor placed after the verifier's: it fails the call if
// the handler's context carries no claims, proving the verifier passed them on.
func requireClaimsInContext(ctx context.Context) error {
	claims, ok := FromContext(ctx)
	if !ok || claims.Principal.Organization != "acme" {
		return status.Error(codes.Internal, "handler context carries no claims")
	}
	return nil
}

// startHealthServer serves the gRPC health service on 127.0.0.1 with the verifier's interceptors
// requiring scope, over TLS when serverTLS is given and in plaintext otherwise. It returns the address
// and a counter of calls that reached the server's interceptors.
func startHealthServer(t *testing.T, verifier *Verifier, scope iamv1alpha1.Scope, serverTLS *tls.Config) (string, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	countCalls := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		calls.Add(1)
		return handler(ctx, req)
	}
	checkUnaryClaims := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := requireClaimsInContext(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	checkStreamClaims := func(srv any, stream grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := requireClaimsInContext(stream.Context()); err != nil {
			return err
		}
		return handler(srv, stream)
	}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(countCalls, verifier.UnaryServerInterceptor(scope), checkUnaryClaims),
		grpc.ChainStreamInterceptor(verifier.StreamServerInterceptor(scope), checkStreamClaims),
	}
	if serverTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(serverTLS)))
	}
	server := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(server, health.NewServer())
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return listener.Addr().String(), &calls
}

// dialHealth connects to addr with the given transport credentials and returns a health client.
func dialHealth(t *testing.T, addr string, transport credentials.TransportCredentials) healthpb.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(transport))
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func TestGRPCInterceptors(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	serverTLS, clientTLS := hubTLS(t)
	addr, _ := startHealthServer(t, verifier, iamv1alpha1.ScopeAgentHubFull, serverTLS)
	client := dialHealth(t, addr, credentials.NewTLS(clientTLS))

	agentToken := issuer.sign(t, issuer.claims(iamv1alpha1.ScopeAgentHubFull))
	tenantToken := issuer.sign(t, issuer.claims(iamv1alpha1.ScopeTenantFull))
	deployToken := issuer.sign(t, issuer.claims(iamv1alpha1.ScopeDeploymentFull))
	expiredClaims := issuer.claims(iamv1alpha1.ScopeAgentHubFull)
	expiredClaims.Expiry = jwt.NewNumericDate(issuer.clock.Now().Add(-time.Hour))
	expiredToken := issuer.sign(t, expiredClaims)
	noneToken := handCrafted(t, map[string]any{"alg": "none", "kid": issuer.currentKey().kid}, issuer.claims(iamv1alpha1.ScopeAgentHubFull), nil)
	failingSource := func(context.Context) (string, error) { return "", errors.New("token endpoint down") }

	tests := []struct {
		name        string
		stream      bool
		source      TokenSource
		wantCode    codes.Code
		wantMessage string
	}{
		{"unary with agentHub scope", false, StaticToken(agentToken), codes.OK, ""},
		{"unary with tenant:full", false, StaticToken(tenantToken), codes.OK, ""},
		{"unary without token", false, nil, codes.Unauthenticated, "no bearer token"},
		{"unary with expired token", false, StaticToken(expiredToken), codes.Unauthenticated, "token expired"},
		{"unary with alg none", false, StaticToken(noneToken), codes.Unauthenticated, "signature algorithm not allowed"},
		{"unary with wrong scope", false, StaticToken(deployToken), codes.PermissionDenied, "requires api:agentHub:full"},
		{"unary with failing token source", false, failingSource, codes.Unauthenticated, "token endpoint down"},
		{"stream with agentHub scope", true, StaticToken(agentToken), codes.OK, ""},
		{"stream without token", true, nil, codes.Unauthenticated, "no bearer token"},
		{"stream with expired token", true, StaticToken(expiredToken), codes.Unauthenticated, "token expired"},
		{"stream with wrong scope", true, StaticToken(deployToken), codes.PermissionDenied, "requires api:agentHub:full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var callOpts []grpc.CallOption
			if tt.source != nil {
				callOpts = append(callOpts, grpc.PerRPCCredentials(NewBearerCredentials(tt.source)))
			}
			var resp *healthpb.HealthCheckResponse
			var err error
			if tt.stream {
				var watch grpc.ServerStreamingClient[healthpb.HealthCheckResponse]
				watch, err = client.Watch(ctx, &healthpb.HealthCheckRequest{}, callOpts...)
				if err == nil {
					resp, err = watch.Recv()
				}
			} else {
				resp, err = client.Check(ctx, &healthpb.HealthCheckRequest{}, callOpts...)
			}
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %s (%q), want %s", st.Code(), st.Message(), tt.wantCode)
			}
			if tt.wantCode == codes.OK {
				if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					t.Errorf("status = %s, want SERVING", resp.GetStatus())
				}
				return
			}
			if !strings.Contains(st.Message(), tt.wantMessage) {
				t.Errorf("message %q does not say %q", st.Message(), tt.wantMessage)
			}
			for _, token := range []string{agentToken, tenantToken, deployToken, expiredToken, noneToken} {
				assertNoToken(t, st.Message(), token)
			}
		})
	}
}

func TestBearerCredentialsAsDialOption(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	serverTLS, clientTLS := hubTLS(t)
	addr, _ := startHealthServer(t, verifier, iamv1alpha1.ScopeAgentHubFull, serverTLS)
	var issued atomic.Int64
	source := func(context.Context) (string, error) {
		issued.Add(1)
		return issuer.sign(t, issuer.claims(iamv1alpha1.ScopeAgentHubFull)), nil
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)),
		grpc.WithPerRPCCredentials(NewBearerCredentials(source)))
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := healthpb.NewHealthClient(conn)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	watch, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch.Recv = %v, %v; want SERVING", resp, err)
	}
	if n := issued.Load(); n != 2 {
		t.Errorf("token source called %d times for 2 calls, want 2", n)
	}
}

func TestBearerCredentialsRefuseInsecureTransport(t *testing.T) {
	issuer := newTestIssuer(t)
	verifier := issuer.newVerifier(t)
	addr, calls := startHealthServer(t, verifier, iamv1alpha1.ScopeAgentHubFull, nil)
	client := dialHealth(t, addr, insecure.NewCredentials())
	bearer := NewBearerCredentials(StaticToken(issuer.sign(t, issuer.claims(iamv1alpha1.ScopeAgentHubFull))))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.PerRPCCredentials(bearer))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a call with bearer credentials over plaintext: %v, want Unauthenticated", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the server saw %d calls: the token left the client over plaintext", n)
	}
	if _, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer)); err == nil {
		t.Error("grpc.NewClient accepted bearer credentials on an insecure connection")
	}
}

func TestBearerCredentialsMetadata(t *testing.T) {
	tests := []struct {
		name    string
		source  TokenSource
		want    string
		wantErr string
	}{
		{"static token", StaticToken("abc.def.ghi"), "Bearer abc.def.ghi", ""},
		{"empty token", StaticToken(""), "", "empty token"},
		{"failing source", func(context.Context) (string, error) { return "", errors.New("expired refresh") }, "", "expired refresh"},
		{"no source", nil, "", "no token source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := NewBearerCredentials(tt.source)
			if !creds.RequireTransportSecurity() {
				t.Error("RequireTransportSecurity = false")
			}
			md, err := creds.GetRequestMetadata(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("GetRequestMetadata error = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || md["authorization"] != tt.want {
				t.Fatalf("GetRequestMetadata = %v, %v; want authorization %q", md, err, tt.want)
			}
		})
	}
}
