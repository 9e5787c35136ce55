package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// IssueServing issues a serving (TLS server) certificate with a fresh ECDSA P-256 key for hosts: DNS
// names ("localhost", "api.example.test", "*.example.test") and IP addresses ("127.0.0.1", "::1"),
// which become the certificate's subject alternative names. The first host is also its common name.
// The certificate is valid from now (backdated a few minutes) for validity, but never beyond the CA's
// own expiry.
func (ca *CA) IssueServing(hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("issue serving certificate: no hosts given")
	}
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: strings.TrimSpace(hosts[0])},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, host := range hosts {
		host = strings.TrimSpace(host)
		switch ip := net.ParseIP(host); {
		case host == "":
			return nil, nil, fmt.Errorf("issue serving certificate for %q: a host is empty", hosts)
		case ip != nil:
			template.IPAddresses = append(template.IPAddresses, ip)
		default:
			template.DNSNames = append(template.DNSNames, host)
		}
	}
	certPEM, keyPEM, err = ca.issue(template, validity)
	if err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate for %q: %w", hosts, err)
	}
	return certPEM, keyPEM, nil
}

// IssueClient issues a client certificate (for mutual TLS) with a fresh ECDSA P-256 key and the given
// common name, valid from now (backdated a few minutes) for validity, but never beyond the CA's own
// expiry.
func (ca *CA) IssueClient(commonName string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return nil, nil, errors.New("issue client certificate: the common name is empty")
	}
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	certPEM, keyPEM, err = ca.issue(template, validity)
	if err != nil {
		return nil, nil, fmt.Errorf("issue client certificate %q: %w", commonName, err)
	}
	return certPEM, keyPEM, nil
}

// issue completes template (serial, validity, basic constraints), generates a key and signs the
// certificate with the CA.
func (ca *CA) issue(template *x509.Certificate, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("validity %s is not positive", validity)
	}
	now := time.Now()
	if !now.Before(ca.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("the CA %q expired at %s", ca.Cert.Subject.CommonName, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if template.SerialNumber, err = newSerialNumber(); err != nil {
		return nil, nil, err
	}
	template.NotBefore = now.Add(-backdate)
	template.NotAfter = now.Add(validity)
	if template.NotAfter.After(ca.Cert.NotAfter) {
		template.NotAfter = ca.Cert.NotAfter
	}
	template.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, template, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate: %w", err)
	}
	keyPEM, err = encodePrivateKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCertificatePEM(der), keyPEM, nil
}
