// Package rnainstall renders the Remote Network Agent's manifests (config/rna, embedded) for one
// target cluster, with the agent's credential, and applies them with server-side apply.
package rnainstall

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	crdfs "github.com/aurora-cd/aurora/config/crd"
	rnafs "github.com/aurora-cd/aurora/config/rna"
)

// Names of the objects the manifests refer to (config/rna).
const (
	DefaultNamespace  = "aurora-rna"
	ConfigMapName     = "rna-config"
	CAConfigMapName   = "rna-hub-ca"
	SecretName        = "rna-client-credentials"
	rolloutCRDFile    = "bases/rollout.aurora.dev_rollouts.yaml"
	containerName     = "rna"
	hubCAFileArg      = "--hub-ca-file="
	hubCAVolumeName   = "hub-ca"
	defaultAudience   = "aurora"
	defaultImageName  = "ghcr.io/aurora-cd/aurora"
	kustomizationFile = "kustomization.yaml"
)

// Options describe one agent's installation.
type Options struct {
	// AgentIdentifier names the agent: the deploy files' target account (required).
	AgentIdentifier string
	// Namespace is where the agent runs. Default aurora-rna.
	Namespace string
	// HubAddress is the Agent Hub's host:port (required).
	HubAddress string
	// TokenURL is the auth service's token endpoint (required).
	TokenURL string
	// Audience of the agent's tokens. Default aurora.
	Audience string
	// ClientID and ClientSecret are the agent's machine credential (required).
	ClientID, ClientSecret string
	// CAPEM is the CA that signed the Hub's and the auth service's certificates; empty trusts the
	// system roots.
	CAPEM []byte
	// Image is the aurora image. Default ghcr.io/aurora-cd/aurora:<tag of the kustomization>.
	Image string
}

// kustomization is the part of config/rna/kustomization.yaml this package reads.
type kustomization struct {
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
	Labels []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
}

// clusterScoped are the kinds of config/rna without a namespace.
var clusterScoped = []string{"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}

// Build renders the agent's objects, in the order to apply them: the namespace and the Rollout CRD
// first, the agent's Deployment after its configuration.
func Build(o Options) ([]*unstructured.Unstructured, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	var k kustomization
	data, err := rnafs.Files.ReadFile(kustomizationFile)
	if err != nil {
		return nil, fmt.Errorf("reading the embedded %s: %w", kustomizationFile, err)
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("decoding the embedded %s: %w", kustomizationFile, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range k.Resources {
		var data []byte
		var err error
		if r == "crd" {
			data, err = crdfs.Bases.ReadFile(rolloutCRDFile)
		} else {
			data, err = rnafs.Files.ReadFile(path.Clean(r))
		}
		if err != nil {
			return nil, fmt.Errorf("reading the embedded %s: %w", r, err)
		}
		docs, err := decodeDocuments(data)
		if err != nil {
			return nil, fmt.Errorf("decoding the embedded %s: %w", r, err)
		}
		objs = append(objs, docs...)
	}
	image := o.Image
	for _, img := range k.Images {
		if image == "" && img.Name == "aurora" {
			image = img.NewName + ":" + img.NewTag
		}
	}
	if image == "" {
		image = defaultImageName + ":latest"
	}
	objs = append(objs, o.configObjects()...)
	for _, obj := range objs {
		if err := o.customize(obj, image); err != nil {
			return nil, err
		}
		for _, l := range k.Labels {
			labels := obj.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			for key, v := range l.Pairs {
				labels[key] = v
			}
			obj.SetLabels(labels)
		}
	}
	// Apply the namespace and the CRD before anything that lives in them or uses them; the
	// Deployment after its ConfigMaps and Secret.
	order := func(u *unstructured.Unstructured) int {
		switch u.GetKind() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition":
			return 1
		case "Deployment":
			return 3
		}
		return 2
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return order(a) - order(b) })
	return objs, nil
}

func (o *Options) check() error {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Audience == "" {
		o.Audience = defaultAudience
	}
	for name, v := range map[string]string{"agent identifier": o.AgentIdentifier, "hub address": o.HubAddress, "token URL": o.TokenURL,
		"client id": o.ClientID, "client secret": o.ClientSecret} {
		if v == "" {
			return fmt.Errorf("the agent's %s is required", name)
		}
	}
	if !strings.HasPrefix(o.TokenURL, "https://") {
		return fmt.Errorf("token URL %q: expected an https:// URL", o.TokenURL)
	}
	return nil
}

// configObjects are what the kustomization generates or asks the installer to create: the agent's
// configuration, its CA and its credential.
func (o Options) configObjects() []*unstructured.Unstructured {
	cm := object("v1", "ConfigMap", ConfigMapName)
	cm.Object["data"] = map[string]any{"agent-identifier": o.AgentIdentifier, "hub-address": o.HubAddress, "token-url": o.TokenURL, "audience": o.Audience}
	secret := object("v1", "Secret", SecretName)
	secret.Object["type"] = "Opaque"
	secret.Object["stringData"] = map[string]any{"client-id": o.ClientID, "client-secret": o.ClientSecret}
	out := []*unstructured.Unstructured{cm, secret}
	if len(o.CAPEM) > 0 {
		ca := object("v1", "ConfigMap", CAConfigMapName)
		ca.Object["data"] = map[string]any{"ca.crt": string(o.CAPEM)}
		out = append(out, ca)
	}
	return out
}

func object(apiVersion, kind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	return u
}

// customize puts an object into the agent's namespace and sets the image; without a CA it drops the
// Hub CA volume so that the agent trusts the system roots.
func (o Options) customize(u *unstructured.Unstructured, image string) error {
	switch {
	case u.GetKind() == "Namespace":
		u.SetName(o.Namespace)
	case !slices.Contains(clusterScoped, u.GetKind()):
		u.SetNamespace(o.Namespace)
	}
	if subjects, ok, _ := unstructured.NestedSlice(u.Object, "subjects"); ok {
		for _, s := range subjects {
			if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
				m["namespace"] = o.Namespace
			}
		}
		if err := unstructured.SetNestedSlice(u.Object, subjects, "subjects"); err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	if u.GetKind() != "Deployment" {
		return nil
	}
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return fmt.Errorf("deployment %s: %w", u.GetName(), err)
	}
	for _, c := range containers {
		m, ok := c.(map[string]any)
		if !ok || m["name"] != containerName {
			continue
		}
		m["image"] = image
		if len(o.CAPEM) > 0 {
			continue
		}
		if args, ok := m["args"].([]any); ok {
			m["args"] = slices.DeleteFunc(args, func(a any) bool { s, _ := a.(string); return strings.HasPrefix(s, hubCAFileArg) })
		}
		if mounts, ok := m["volumeMounts"].([]any); ok {
			m["volumeMounts"] = slices.DeleteFunc(mounts, func(v any) bool { vm, _ := v.(map[string]any); return vm["name"] == hubCAVolumeName })
		}
	}
	if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return fmt.Errorf("deployment %s: %w", u.GetName(), err)
	}
	if len(o.CAPEM) == 0 {
		volumes, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "volumes")
		volumes = slices.DeleteFunc(volumes, func(v any) bool { vm, _ := v.(map[string]any); return vm["name"] == hubCAVolumeName })
		if err := unstructured.SetNestedSlice(u.Object, volumes, "spec", "template", "spec", "volumes"); err != nil {
			return fmt.Errorf("deployment %s: %w", u.GetName(), err)
		}
	}
	return nil
}

// decodeDocuments decodes the objects of a multi-document YAML file.
func decodeDocuments(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

// Render writes objects as one multi-document YAML stream.
func Render(w io.Writer, objs []*unstructured.Unstructured) error {
	for i, obj := range objs {
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}
