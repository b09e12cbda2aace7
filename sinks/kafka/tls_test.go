package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logship/logship/sinks"
)

// TestTLS produces over mutual TLS (a CA of the test's own, a client
// certificate) and checks that an untrusted broker certificate stops Start.
func TestTLS(t *testing.T) {
	const topic = "logs"
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", nil)
	srv, srvKey := newCert(t, ca, caKey, "broker", []net.IP{net.IPv4(127, 0, 0, 1)})
	cli, cliKey := newCert(t, ca, caKey, "logship", nil)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	certFile := writePEM(t, dir, "client.pem", "CERTIFICATE", cli.Raw)
	keyFile := writePEM(t, dir, "client-key.pem", "PRIVATE KEY", marshalKey(t, cliKey))

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	c := startCluster(t, kfake.SeedTopics(1, topic), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}))

	cfg := sinkConfig(c, topic)
	cfg.TLS = TLSConfig{TLSConfig: sinks.TLSConfig{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}}
	s := newSink(t, cfg)
	if err := s.Write(t.Context(), makeBatches(50, 2, 50)[0]); err != nil {
		t.Fatal(err)
	}
	reader := kgo.DialTLSConfig(&tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}},
		MinVersion:   tls.VersionTLS12,
	})
	if recs := consume(t, c, topic, reader); len(recs) != 50 {
		t.Fatalf("read %d records, want 50", len(recs))
	}

	untrusted := cfg
	untrusted.TLS.CAFile = ""
	err := newSinkUnstarted(t, untrusted).Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "tls with the brokers failed") {
		t.Fatalf("start with an untrusted broker certificate: %v", err)
	}
	missing := cfg
	missing.TLS.CAFile = filepath.Join(dir, "missing.pem")
	if err := newSinkUnstarted(t, missing).Start(t.Context()); err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Fatalf("start with a missing CA file: %v", err)
	}
}

// newCert makes a certificate signed by parent (self-signed, a CA, when
// parent is nil).
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, ips []net.IP) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  ips,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer := key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent = tmpl
	} else {
		signer = parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func marshalKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
