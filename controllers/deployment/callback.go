package deployment

import (
	"net/url"
	"strings"
)

// CallbackBaseURI is where the webhook callbacks of a deployment's target go:
// <api>/webhooks/<deployment>/<target>, each step's {{armory.callbackUri}} adding /<gate>
// (path-escaped). Empty without an API URL.
func CallbackBaseURI(apiURL, deployment, target string) string {
	if apiURL == "" {
		return ""
	}
	return strings.TrimRight(apiURL, "/") + "/webhooks/" + url.PathEscape(deployment) + "/" + url.PathEscape(target)
}

// setCallbackURIs gives the Rollouts a plan creates their callback base URI.
func setCallbackURIs(plan *Plan, apiURL string) {
	for _, ro := range plan.Create {
		ro.Spec.CallbackBaseURI = CallbackBaseURI(apiURL, ro.Spec.DeploymentName, ro.Spec.Target)
	}
}
