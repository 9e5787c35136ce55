// Package keys keeps the OIDC service's ES256 signing keys: it generates them, stores them encrypted
// in a Kubernetes Secret shared by every replica, rotates them on a schedule, signs JWTs with the
// current key and publishes the public keys (JWKS) that verify them.
//
// # Secret layout
//
// The Secret (type Opaque) holds a single data key, "keys.json":
//
//	{
//	  "version": 1,
//	  "keys": [
//	    {
//	      "kid": "<RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key>",
//	      "alg": "ES256",
//	      "createdAt": "2026-01-02T03:04:05Z",
//	      "activatedAt": "2026-01-02T03:04:05Z",   // absent while the key is published but not yet signing
//	      "retiredAt": "2026-01-03T03:04:05Z",     // absent until the key stops signing
//	      "sealedPrivateKey": "<base64 of the envelope-sealed PKCS #8 DER private key>"
//	    }
//	  ]
//	}
//
// Private keys are sealed with internal/envelope under the master key, with the associated data
// "<namespace>/<secret name>/keys.json/<kid>": a sealed key opens only in its own Secret and under its
// own kid. The rest of a record is public metadata. Nothing in the Secret is a plaintext private key.
//
// # Key lifecycle
//
// A key is next (published in the JWKS, not yet signing), then current (signing; exactly one key is
// current), then retired (no longer signing, still published), then removed. Every replica reloads
// the Secret each ReloadInterval, so a key is published at least ReloadInterval + Leeway before it
// starts signing (verifiers that fetched the JWKS from any replica already know it), and a retired key
// stays published for ReloadInterval + TokenLifetime + Leeway after its retirement: replicas that
// have not reloaded yet may sign with it for up to ReloadInterval, and the tokens they sign live up to
// TokenLifetime. Rotate skips the waiting period of a scheduled rotation.
//
// Replicas coordinate through the API server alone: the Secret is created with Create (the loser of a
// race re-reads it) and changed with Update at the resourceVersion it was read at (the loser of a
// conflict re-reads and re-decides), so two replicas never make two keys current.
package keys
