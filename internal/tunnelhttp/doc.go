// Package tunnelhttp holds what both ends of the tunnel need to proxy HTTP exchanges over it (see
// the HttpRequest messages of api/tunnel/v1): the limits, the conversion of headers, and the two
// halves of per-exchange flow control: a receive buffer that grants the sender more room as its
// reader consumes, and a send window that waits for that room.
package tunnelhttp
