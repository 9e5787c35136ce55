package verify

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// TokenSource returns the access token to send with a call, for instance a cached token that the
// agent renews from the auth service before it expires.
type TokenSource func(ctx context.Context) (string, error)

// StaticToken returns a TokenSource that always returns token.
func StaticToken(token string) TokenSource {
	return func(context.Context) (string, error) { return token, nil }
}

// BearerCredentials are gRPC per-RPC credentials that send "authorization: Bearer <token>" with
// every call, the token taken from a TokenSource. They refuse to travel without transport security.
type BearerCredentials struct {
	source TokenSource
}

// NewBearerCredentials returns BearerCredentials drawing tokens from source. Use them with
// grpc.WithPerRPCCredentials on a connection with TLS transport credentials.
func NewBearerCredentials(source TokenSource) *BearerCredentials {
	return &BearerCredentials{source: source}
}

// GetRequestMetadata returns the authorization metadata for one call. It fails with a
// codes.Unauthenticated status if the connection is not private and authenticated, or if the token
// source fails or returns an empty token; gRPC then fails the call with that status, whether the
// credentials were given as a dial option or a call option.
func (c *BearerCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if info, ok := credentials.RequestInfoFromContext(ctx); ok {
		if err := credentials.CheckSecurityLevel(info.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, status.Errorf(codes.Unauthenticated, "refusing to send a bearer token over this connection: %v", err)
		}
	}
	if c.source == nil {
		return nil, status.Error(codes.Unauthenticated, "getting bearer token: no token source")
	}
	token, err := c.source(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "getting bearer token: %v", err)
	}
	if token == "" {
		return nil, status.Error(codes.Unauthenticated, "getting bearer token: token source returned an empty token")
	}
	return map[string]string{authorizationMetadataKey: bearerScheme + " " + token}, nil
}

// RequireTransportSecurity returns true: a bearer token must only travel over TLS.
func (c *BearerCredentials) RequireTransportSecurity() bool { return true }

// Compile-time check that BearerCredentials are gRPC per-RPC credentials.
var _ credentials.PerRPCCredentials = (*BearerCredentials)(nil)
