package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types this package writes and reads.
const (
	certificateBlockType = "CERTIFICATE"
	pkcs8KeyBlockType    = "PRIVATE KEY"
	ecKeyBlockType       = "EC PRIVATE KEY"
	rsaKeyBlockType      = "RSA PRIVATE KEY"
)

// encodeCertificatePEM returns der as a PEM "CERTIFICATE" block.
func encodeCertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certificateBlockType, Bytes: der})
}

// encodePrivateKeyPEM returns key as a PEM PKCS #8 "PRIVATE KEY" block.
func encodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key as PKCS #8: %w", err)
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: pkcs8KeyBlockType, Bytes: der}), nil
}

// parseCertificatePEM returns the first "CERTIFICATE" block of data, parsed.
func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block found")
		}
		if block.Type != certificateBlockType {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert, nil
	}
}

// parsePrivateKeyPEM returns the first private key block of data (PKCS #8, SEC 1 EC or PKCS #1 RSA),
// parsed. Errors never quote the key.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key block (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY) found")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case pkcs8KeyBlockType:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case ecKeyBlockType:
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case rsaKeyBlockType:
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
		}
		switch k := key.(type) {
		case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
	}
}
