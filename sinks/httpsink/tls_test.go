package httpsink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/logship/logship/event"
	"github.com/logship/logship/sinks"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "logship test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate and key signed by the CA to dir and returns
// their paths and the tls.Certificate.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (string, string, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writeFile(t, certFile, certPEM)
	writeFile(t, keyFile, keyPEM)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, ca.pem)
	_, _, serverCert := ca.issue(t, dir, "logs.example", x509.ExtKeyUsageServerAuth)
	clientCertFile, clientKeyFile, _ := ca.issue(t, dir, "logship-agent", x509.ExtKeyUsageClientAuth)

	var gotClient string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			gotClient = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.WriteHeader(http.StatusOK)
	})
	start := func(mtls bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(handler)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
		if mtls {
			pool := x509.NewCertPool()
			pool.AddCert(ca.cert)
			srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
		}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	plain, mutual := start(false), start(true)

	tests := []struct {
		name     string
		srv      *httptest.Server
		tls      sinks.TLSConfig
		wantErr  string // "" = accepted, "*" = any error
		wantWarn bool
	}{
		{name: "ca file", srv: plain, tls: sinks.TLSConfig{CAFile: caFile, ServerName: "logs.example"}},
		{name: "system roots refuse", srv: plain, tls: sinks.TLSConfig{ServerName: "logs.example"}, wantErr: "certificate"},
		{name: "wrong server name", srv: plain, tls: sinks.TLSConfig{CAFile: caFile, ServerName: "other.example"}, wantErr: "certificate"},
		{name: "insecure", srv: plain, tls: sinks.TLSConfig{InsecureSkipVerify: true}, wantWarn: true},
		{name: "client certificate", srv: mutual, tls: sinks.TLSConfig{CAFile: caFile, ServerName: "logs.example",
			CertFile: clientCertFile, KeyFile: clientKeyFile}},
		// With TLS 1.3 the server refuses after the client's handshake ends:
		// the client sees a certificate alert or a broken connection.
		{name: "client certificate missing", srv: mutual, tls: sinks.TLSConfig{CAFile: caFile, ServerName: "logs.example"}, wantErr: "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotClient = ""
			core, logs := observer.New(zapcore.WarnLevel)
			s := newSink(t, Config{URL: tt.srv.URL, TLS: tt.tls}, Options{Logger: zap.New(core)})
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			err := s.Write(t.Context(), makeBatch(0, 1))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Write: %v", err)
			case tt.wantErr != "" && (err == nil || tt.wantErr != "*" && !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err %v, want one about %q", err, tt.wantErr)
			case err != nil && event.IsPermanent(err):
				t.Errorf("a TLS failure is retryable (the receiver may be fixed): %v", err)
			}
			warned := logs.FilterMessageSnippet("VERIFICATION IS OFF").Len() > 0
			if warned != tt.wantWarn {
				t.Errorf("warned %v, want %v", warned, tt.wantWarn)
			}
			if tt.tls.CertFile != "" && gotClient != "logship-agent" {
				t.Errorf("server saw client certificate %q", gotClient)
			}
		})
	}

	t.Run("missing files", func(t *testing.T) {
		for _, c := range []sinks.TLSConfig{
			{CAFile: filepath.Join(dir, "nope.pem")},
			{CAFile: clientKeyFile}, // not a certificate
			{CertFile: clientCertFile, KeyFile: filepath.Join(dir, "nope.key")},
		} {
			s := newSink(t, Config{URL: plain.URL, TLS: c}, Options{})
			err := s.Start(t.Context())
			if err == nil || !strings.Contains(err.Error(), "tls.") {
				t.Errorf("Start with %+v: %v, want an error naming the key", c, err)
			}
			if werr := s.Write(t.Context(), makeBatch(0, 1)); werr == nil {
				t.Error("Write after a failed Start succeeded")
			}
		}
	})
}
