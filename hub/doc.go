// Package hub is the Agent Hub: the gRPC server that Remote Network Agents dial out to over TLS. It
// holds one tunnel per agent, registers the tenant's Agent, mirrors the Rollouts labelled for the
// agent down the tunnel and writes the status the agent streams back.
package hub
