package tunnelhttp

// Limits of proxied HTTP exchanges. Both ends enforce them.
const (
	// FlowWindowBytes is how many body bytes of one exchange and direction may be in flight
	// unacknowledged: a sender starts with this much room and the receiver grants more with
	// HttpWindow as it consumes.
	FlowWindowBytes = 256 << 10
	// ChunkBytes is the largest HttpBody chunk.
	ChunkBytes = 32 << 10
	// MaxRequestBodyBytes bounds the body of a proxied request.
	MaxRequestBodyBytes = 8 << 20
	// MaxResponseBodyBytes bounds the body of a proxied response.
	MaxResponseBodyBytes = 64 << 20
	// MaxConcurrentExchanges bounds the exchanges open at once on one tunnel.
	MaxConcurrentExchanges = 64
	// MaxHeaderBytes bounds the headers of a proxied request or response.
	MaxHeaderBytes = 64 << 10
)
