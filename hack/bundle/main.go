// Command bundle generates Aurora's OLM bundle (make bundle):
//
//	go run ./hack/bundle -version 0.1.0 -image ghcr.io/aurora-cd/aurora:v0.1.0
//
// It writes bundle/manifests (the ClusterServiceVersion and the CRDs), bundle/metadata/annotations.yaml
// and bundle/bundle.Dockerfile from config/ (see hack/bundle/generate). test/bundle validates the
// result with operator-framework/api and fails when the committed bundle is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/aurora-cd/aurora/hack/bundle/generate"
)

func main() {
	var o generate.Options
	out := flag.String("out", "bundle", "bundle directory to write")
	flag.StringVar(&o.Root, "root", ".", "repository root holding config/")
	flag.StringVar(&o.Version, "version", "0.1.0", "operator version (CSV aurora.v<version>)")
	flag.StringVar(&o.Image, "image", "", "controller manager image (default: the controller image of config/manager/kustomization.yaml)")
	flag.StringVar(&o.Package, "package", "aurora", "OLM package name")
	flag.StringVar(&o.Channels, "channels", "alpha", "comma-separated channels")
	flag.StringVar(&o.DefaultChannel, "default-channel", "alpha", "default channel")
	flag.Parse()
	if err := generate.Write(o, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
	fmt.Printf("bundle: wrote %s (%s.v%s)\n", *out, o.Package, o.Version)
}
