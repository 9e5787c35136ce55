// Package scheme builds the runtime.Scheme every Aurora component uses: the built-in Kubernetes
// kinds and Aurora's own.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// New returns a scheme with the client-go kinds and every Aurora kind.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(iamv1alpha1.AddToScheme(s))
	utilruntime.Must(deployv1alpha1.AddToScheme(s))
	utilruntime.Must(rolloutv1alpha1.AddToScheme(s))
	return s
}
