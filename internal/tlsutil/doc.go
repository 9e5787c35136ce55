// Package tlsutil makes a small certificate authority and the TLS configurations that use it, for
// local development and tests: a self-signed ECDSA P-256 CA, serving certificates for DNS names and
// IP addresses, client certificates, and server and client tls.Configs that require TLS 1.2 or later
// with modern (ECDHE, AEAD) cipher suites only.
//
// Certificates and keys travel as PEM: "CERTIFICATE" blocks and PKCS #8 "PRIVATE KEY" blocks.
// It is not meant to run a production PKI: there is no revocation and keys live in memory and files.
package tlsutil
