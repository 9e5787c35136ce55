package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// backdate is how far before "now" certificates become valid, so that a peer whose clock is a little
// behind accepts them at once.
const backdate = 5 * time.Minute

// CA is a certificate authority: a self-signed certificate and its private key, in parsed and PEM form.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// CertPEM is Cert as a PEM "CERTIFICATE" block: what clients trust (see ClientConfig).
	CertPEM []byte
	// KeyPEM is Key as a PEM private key block. Keep it secret.
	KeyPEM []byte
}

// NewCA creates a self-signed CA with an ECDSA P-256 key, valid from now (backdated a few minutes for
// clock skew) for validity. It may sign leaf certificates only (path length zero).
func NewCA(commonName string, validity time.Duration) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("create CA: the common name is empty")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("create CA %q: validity %s is not positive", commonName, validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: generate key: %w", commonName, err)
	}
	serial, err := newSerialNumber()
	if err != nil {
		return nil, fmt.Errorf("create CA %q: %w", commonName, err)
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: sign certificate: %w", commonName, err)
	}
	certPEM := encodeCertificatePEM(der)
	keyPEM, err := encodePrivateKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("create CA %q: %w", commonName, err)
	}
	return LoadCA(certPEM, keyPEM)
}

// LoadCA parses a CA from its PEM certificate and private key (PKCS #8, SEC 1 EC or PKCS #1 RSA).
// It checks that the certificate is a CA certificate allowed to sign certificates and that the key
// belongs to it. Errors never quote the key.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA certificate: %w", err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("load CA: certificate %q is not a CA certificate", cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("load CA: certificate %q may not sign certificates (no certSign key usage)", cert.Subject.CommonName)
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA private key: %w", err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("load CA: the private key does not belong to certificate %q", cert.Subject.CommonName)
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		CertPEM: append([]byte(nil), certPEM...),
		KeyPEM:  append([]byte(nil), keyPEM...),
	}, nil
}

// publicKeysEqual reports whether a and b are the same public key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	equaler, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && equaler.Equal(b)
}

// newSerialNumber returns a random positive 128-bit certificate serial number.
func newSerialNumber() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil // never zero
}
