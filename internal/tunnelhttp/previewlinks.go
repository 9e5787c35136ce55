package tunnelhttp

import "time"

// RequestKindPreviewLinks is the kind of the agent's Request for signed preview links; its body is
// a PreviewLinksRequest, the Response's a PreviewLinksResponse.
const RequestKindPreviewLinks = "previewLinks"

// MaxPreviewTTL is the longest a preview link may live (with a minute of slack for clocks).
const MaxPreviewTTL = 24*time.Hour + time.Minute

// PreviewLinksRequest asks the Hub to sign preview links.
type PreviewLinksRequest struct {
	// Previews are the Services to link, each until its expiry.
	Previews []PreviewLinkRequest `json:"previews"`
}

// PreviewLinkRequest is one Service to link.
type PreviewLinkRequest struct {
	// Namespace of the Service in the agent's cluster.
	Namespace string `json:"namespace"`
	// Service is the Service's name.
	Service string `json:"service"`
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time `json:"expiresAt"`
}

// PreviewLinksResponse carries the links, in the order of the request.
type PreviewLinksResponse struct {
	// URLs are the links.
	URLs []string `json:"urls"`
}
