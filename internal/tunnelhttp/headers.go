package tunnelhttp

import (
	"net/http"
	"sort"
	"strings"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// hopByHop are the headers that concern one connection only and are never proxied.
var hopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// ToProto converts h to tunnel headers, sorted by name, without hop-by-hop headers (nor those the
// Connection header names) and without the names in drop (canonical form).
func ToProto(h http.Header, drop ...string) []*tunnelv1.HttpHeader {
	skip := map[string]bool{}
	for _, name := range drop {
		skip[http.CanonicalHeaderKey(name)] = true
	}
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			skip[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	out := make([]*tunnelv1.HttpHeader, 0, len(h))
	for name, values := range h {
		name = http.CanonicalHeaderKey(name)
		if hopByHop[name] || skip[name] {
			continue
		}
		out = append(out, &tunnelv1.HttpHeader{Name: name, Values: append([]string(nil), values...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FromProto converts tunnel headers to an http.Header, dropping hop-by-hop headers.
func FromProto(headers []*tunnelv1.HttpHeader) http.Header {
	h := make(http.Header, len(headers))
	for _, hdr := range headers {
		name := http.CanonicalHeaderKey(hdr.GetName())
		if name == "" || hopByHop[name] {
			continue
		}
		for _, v := range hdr.GetValues() {
			h.Add(name, v)
		}
	}
	return h
}

// Size is the number of bytes of names and values of headers.
func Size(headers []*tunnelv1.HttpHeader) int {
	n := 0
	for _, h := range headers {
		n += len(h.GetName())
		for _, v := range h.GetValues() {
			n += len(v)
		}
	}
	return n
}
