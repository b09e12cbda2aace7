package sinks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// writePair writes a self-signed certificate and its key as PEM files.
func writePair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "logship-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSConfigClient(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir)
	tests := []struct {
		name       string
		cfg        TLSConfig
		serverName string
		wantErr    string // a substring; "" for success
		wantName   string
		wantRoots  bool
		wantCerts  int
	}{
		{name: "zero: system roots, host dialled", cfg: TLSConfig{}},
		{name: "default server name", cfg: TLSConfig{}, serverName: "logs.example", wantName: "logs.example"},
		{name: "server_name wins", cfg: TLSConfig{ServerName: "other.example"}, serverName: "logs.example", wantName: "other.example"},
		{name: "ca file", cfg: TLSConfig{CAFile: cert}, wantRoots: true},
		{name: "client pair", cfg: TLSConfig{CertFile: cert, KeyFile: key}, wantCerts: 1},
		{name: "ca missing", cfg: TLSConfig{CAFile: filepath.Join(dir, "nope.pem")}, wantErr: "tls.ca_file"},
		{name: "ca not PEM", cfg: TLSConfig{CAFile: key}, wantErr: "tls.ca_file"},
		{name: "key missing", cfg: TLSConfig{CertFile: cert, KeyFile: filepath.Join(dir, "nope.key")}, wantErr: "tls.cert_file, tls.key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.cfg.Client(tt.serverName)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Client: %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.MinVersion == 0 || tc.InsecureSkipVerify {
				t.Errorf("MinVersion %x, InsecureSkipVerify %v", tc.MinVersion, tc.InsecureSkipVerify)
			}
			if tc.ServerName != tt.wantName {
				t.Errorf("ServerName %q, want %q", tc.ServerName, tt.wantName)
			}
			if (tc.RootCAs != nil) != tt.wantRoots || len(tc.Certificates) != tt.wantCerts {
				t.Errorf("RootCAs set %v, %d certificates", tc.RootCAs != nil, len(tc.Certificates))
			}
		})
	}
	if _, err := (TLSConfig{CAFile: key}).Client(""); !errors.Is(err, ErrNoPEM) {
		t.Errorf("a CA file without a certificate: %v, want ErrNoPEM", err)
	}
}

func TestTLSConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  TLSConfig
		want string
	}{
		{TLSConfig{}, ""},
		{TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}, ""},
		{TLSConfig{CertFile: "c.pem"}, "tls: cert_file and key_file go together"},
		{TLSConfig{KeyFile: "k.pem"}, "tls: cert_file and key_file go together"},
	} {
		ps := tt.cfg.Validate()
		got := ""
		for _, p := range ps {
			got += p.Path + ": " + p.Message
		}
		if got != tt.want {
			t.Errorf("Validate(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestTLSConfigWarnIfInsecure(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		core, logs := observer.New(zap.WarnLevel)
		TLSConfig{InsecureSkipVerify: insecure}.WarnIfInsecure(zap.New(core))
		if got := logs.Len() == 1; got != insecure {
			t.Errorf("insecure %v: warned %v", insecure, got)
		}
	}
}
