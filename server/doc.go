// Package server is the REST API (the paths Armory's CLI calls, plus approvals and credentials) and
// the Console, served over TLS with bearer tokens from the auth service.
package server
