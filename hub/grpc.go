package hub

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// Keepalive settings of the Hub's gRPC server.
//
// The server pings an idle connection every 60 s and drops it when the ping is not answered within
// 20 s. It accepts client pings as often as every 15 s, even without an open stream; a client that
// pings more often is sent GOAWAY ("too_many_pings"). Agents should dial with ClientKeepalive: a
// ping every 30 s, 10 s to answer, also without a stream.
var (
	keepaliveEnforcement = keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}
	keepaliveServer      = keepalive.ServerParameters{Time: 60 * time.Second, Timeout: 20 * time.Second}
)

// connectionTimeout bounds a new connection's TLS and HTTP/2 handshakes.
const connectionTimeout = 20 * time.Second

// maxStreamsPerConnection bounds the concurrent streams of one connection: an agent needs one
// tunnel (plus a health check now and then).
const maxStreamsPerConnection = 16

// ClientKeepalive returns the keepalive parameters agents should dial the Hub with: they match the
// Hub's enforcement policy (pings no more often than every 15 s are accepted, also without a
// stream).
func ClientKeepalive() keepalive.ClientParameters {
	return keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}
}

// serverOptions are the options of the Hub's gRPC server: TLS, message size limits, keepalive and
// the token check on every service but health (api:agentHub:full for the agents' tunnel,
// read:infrastructure:data for the REST API's InventoryQuery).
func (s *Server) serverOptions() []grpc.ServerOption {
	options := []grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(s.opts.TLS)),
		grpc.MaxRecvMsgSize(s.opts.MaxMessageBytes),
		grpc.MaxSendMsgSize(s.opts.MaxMessageBytes),
		grpc.KeepaliveEnforcementPolicy(keepaliveEnforcement),
		grpc.KeepaliveParams(keepaliveServer),
		grpc.ConnectionTimeout(connectionTimeout),
		grpc.MaxConcurrentStreams(maxStreamsPerConnection),
		grpc.ChainStreamInterceptor(exemptHealthStream(s.opts.Verifier.StreamServerInterceptor(iamv1alpha1.ScopeAgentHubFull))),
		grpc.ChainUnaryInterceptor(exemptHealthUnary(byScope(
			s.opts.Verifier.UnaryServerInterceptor(iamv1alpha1.ScopeAgentHubFull),
			s.opts.Verifier.UnaryServerInterceptor(iamv1alpha1.ScopeInfrastructureRead)))),
	}
	switch {
	case s.opts.ReadBufferSize < 0:
		options = append(options, grpc.ReadBufferSize(0))
	case s.opts.ReadBufferSize > 0:
		options = append(options, grpc.ReadBufferSize(s.opts.ReadBufferSize))
	}
	return options
}

// isHealthMethod reports whether a full gRPC method name belongs to the health service, which
// Kubernetes probes and load balancers call without a token.
func isHealthMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/"+healthgrpc.Health_ServiceDesc.ServiceName+"/")
}

// exemptHealthStream runs check on every streaming call except the health service's.
func exemptHealthStream(check grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if isHealthMethod(info.FullMethod) {
			return handler(srv, stream)
		}
		return check(srv, stream, info, handler)
	}
}

// exemptHealthUnary runs check on every unary call except the health service's.
func exemptHealthUnary(check grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isHealthMethod(info.FullMethod) {
			return handler(ctx, req)
		}
		return check(ctx, req, info, handler)
	}
}

// byScope runs inventory on InventoryQuery's calls and agent on every other unary call.
func byScope(agent, inventory grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isInventoryQueryMethod(info.FullMethod) {
			return inventory(ctx, req, info, handler)
		}
		return agent(ctx, req, info, handler)
	}
}
