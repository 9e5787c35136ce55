package verify

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// authorizationMetadataKey is the gRPC metadata key carrying "Bearer <token>".
const authorizationMetadataKey = "authorization"

// UnaryServerInterceptor returns a gRPC unary interceptor that admits a call only with a valid
// "authorization: Bearer <token>" metadata entry whose principal holds required (the empty scope
// requires only a valid token), and hands the handler a context carrying the claims. Refusals are
// GRPCError statuses: codes.Unauthenticated or codes.PermissionDenied.
func (v *Verifier) UnaryServerInterceptor(required iamv1alpha1.Scope) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := v.authenticateCall(ctx, required)
		if err != nil {
			return nil, GRPCError(err)
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls: the handler's stream
// returns the context carrying the claims.
func (v *Verifier) StreamServerInterceptor(required iamv1alpha1.Scope) grpc.StreamServerInterceptor {
	return func(srv any, stream grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := v.authenticateCall(stream.Context(), required)
		if err != nil {
			return GRPCError(err)
		}
		return handler(srv, &contextServerStream{ServerStream: stream, ctx: ctx})
	}
}

// authenticateCall authenticates the incoming call of ctx from its metadata.
func (v *Verifier) authenticateCall(ctx context.Context, required iamv1alpha1.Scope) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get(authorizationMetadataKey)
	switch len(values) {
	case 0:
		return ctx, ErrMissingToken
	case 1:
	default:
		return ctx, fmt.Errorf("%w: more than one authorization entry", ErrMalformedToken)
	}
	rawToken, err := tokenFromAuthorization(values[0])
	if err != nil {
		return ctx, err
	}
	return v.authenticate(ctx, rawToken, required)
}

// contextServerStream is a grpc.ServerStream whose Context is replaced.
type contextServerStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the replaced context.
func (s *contextServerStream) Context() context.Context { return s.ctx }

// GRPCError converts an error of this package into a gRPC status error: codes.Unauthenticated for
// ErrInvalidToken and its kin, codes.PermissionDenied for ErrForbidden and its kin,
// codes.Unavailable for ErrKeySetUnavailable and codes.Internal otherwise. The status message is
// the fixed text of the matching sentinel, never err's own text.
func GRPCError(err error) error {
	reason := publicReason(err)
	var scopeErr *InsufficientScopeError
	switch {
	case errors.Is(err, ErrInvalidToken):
		return status.Error(codes.Unauthenticated, reason)
	case errors.As(err, &scopeErr):
		return status.Error(codes.PermissionDenied, fmt.Sprintf("%s: requires %s", reason, scopeErr.Required))
	case errors.Is(err, ErrForbidden):
		return status.Error(codes.PermissionDenied, reason)
	case errors.Is(err, ErrKeySetUnavailable):
		return status.Error(codes.Unavailable, reason)
	default:
		return status.Error(codes.Internal, reason)
	}
}
