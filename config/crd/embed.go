// Package crd embeds the CustomResourceDefinitions of every Aurora kind (generated into bases/ by
// `make manifests`), for components that install them themselves, such as `aurora dev`.
package crd

import "embed"

// Bases holds bases/*.yaml, one CRD per file.
//
//go:embed bases/*.yaml
var Bases embed.FS
