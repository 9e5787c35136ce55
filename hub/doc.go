// Package hub is the Agent Hub: the gRPC server that Remote Network Agents dial out to over TLS. It
// holds one tunnel per agent, registers the tenant's Agent, mirrors the Rollouts labelled for the
// agent down the tunnel and writes the status the agent streams back.
//
// # Conversation
//
// The wire contract is api/tunnel/v1/tunnel.proto. An agent's stream must carry a bearer token with
// scope api:agentHub:full (the health service needs none). Its first message must be Hello
// (InvalidArgument otherwise, DeadlineExceeded after Options.HelloTimeout); the agent identifier
// must be a valid Agent name that the token may act as (PermissionDenied otherwise). The tenant
// namespace comes from the token only. The Hub answers Welcome, then resyncs: it diffs the Rollouts
// the agent holds (Hello.rollouts) against the cloud Rollouts labelled deploy.aurora.dev/agent=<id>
// in the tenant namespace, sends DeleteRollout for each the agent holds that is gone and
// ApplyRollout for each it lacks or holds at an older generation. From then on it sends each new
// generation and each deletion. One stream per agent and tenant lives at a time: a newer stream
// replaces the older, which is sent Drain and closed.
//
// # Heartbeats and liveness
//
// The Hub sends Heartbeat every Options.HeartbeatInterval (announced in Welcome). Any message of the
// agent counts as hearing from it; at each heartbeat tick, a session that heard nothing for
// MissedHeartbeats (3) intervals is dropped with Unavailable, so a silent agent is dropped between
// three and four intervals after its last message. The Agent's lastHeartbeatAt is written at most
// every Options.StatusWriteInterval (the first write at a random point of the first interval, so a
// connect storm does not synchronise them), as a small patch without a read.
//
// # Backpressure
//
// Each session has one sender goroutine that drains a bounded queue (Options.SendQueueSize) of
// Envelopes: acknowledgements, requests. Whoever enqueues waits at most Options.SendTimeout for room;
// if the queue is still full, or if one send stays blocked that long (the agent does not read), the
// session is dropped with ResourceExhausted and counted in aurora_hub_send_queue_drops_total. The
// agent reconnects and resyncs: nothing is lost. Mirrored Rollouts bypass the queue: a change only
// marks the Rollout for the session, and the sender sends the cloud's current generation when it
// gets there, so a burst of changes coalesces instead of queueing.
//
// The other way, the receiver never waits for the API server: a RolloutStatus or an Ack of an apply
// only records what the cloud Rollout needs (pendingwrites.go), and a cloud writer, started while
// writes wait, writes each Rollout's latest status and applied generation in one status write, then
// acknowledges the status. A status that a newer one of the same Rollout replaced before it was
// written is acknowledged at once (the newer one carries the whole status), so a flood of updates
// costs one write per Rollout at a time, however fast the agent sends.
//
// # Agent status
//
// A bounded pool of writers (Options.AgentStatusWorkers) keeps each Agent in step with what the
// replica knows, always writing the latest state of an agent, one write per agent at a time:
// opening a tunnel registers the Agent (created when missing) with connected=true, connectedAt,
// versions, clientID, remoteAddress, hubReplica and Ready=True/Connected; its end writes
// connected=false, disconnectedAt and Ready=False/Disconnected after Options.DisconnectGrace,
// unless a newer stream of the agent is live by then, or the Agent shows a newer connection (of
// another replica).
//
// # Several replicas
//
// With Options.LeaseNamespace the replicas share the agents through Leases (leases.go): the replica
// that accepts an agent's stream claims the agent's Lease before it mirrors anything, and asks the
// former holder (over HTTPS, identified by its client certificate) to end its stream; the former
// holder also ends it when it sees the Lease change. A replica's own Lease, renewed every third of
// Options.LeaseDuration, keeps the agent Leases it holds valid and advertises its address; one that
// cannot renew it ends its streams. Query and preview requests for an agent held by another live
// replica are forwarded to it (https.go). Abort stops a replica as a crash would, for tests.
//
// # Preview links
//
// ServeHTTPS serves links signed with Options.PreviewKey (previewlink.go): a request goes down the
// agent's tunnel as HttpRequest/HttpBody frames with per-exchange flow control (proxy.go), and the
// agent proxies it to the Service. Agents ask for links with a Request of kind previewLinks.
//
// # Scale
//
// One shared, label-filtered cache of Rollouts (indexed by agent) serves every session; nothing is
// watched per agent. A session costs three goroutines (the stream handler, a sender and a
// receiver; a cloud writer only while writes wait) on top of gRPC's own, and small maps of the
// Rollouts the agent holds.
package hub
