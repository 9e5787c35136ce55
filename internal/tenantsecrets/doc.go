// Package tenantsecrets keeps a tenant's secrets, the values of {{secrets.<key>}} in constraint
// webhooks, in the Secret aurora-secrets of the tenant's namespace of the cloud cluster, each value
// sealed with envelope encryption under the master key. The associated data of a value names its
// place ("<namespace>/aurora-secrets/<key>"), so a value copied to another tenant or key does not
// open. The Kubernetes API, and etcd behind it, only ever hold ciphertext.
//
// Values are written through the REST API (`aurora secrets set <key>`); one written as plain text
// with kubectl is refused when a webhook needs it, with an error that names the key and says how to
// set it, never its content.
package tenantsecrets
