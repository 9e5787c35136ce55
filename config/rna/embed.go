// Package rna embeds the kustomize base of the Remote Network Agent (the YAML files of this
// directory), for `aurora agent install`, which renders it for one cluster without kustomize.
package rna

import "embed"

// Files holds kustomization.yaml and the manifests it lists. The Rollout CRD it takes from
// ../crd is in the crd package's Bases.
//
//go:embed *.yaml
var Files embed.FS
