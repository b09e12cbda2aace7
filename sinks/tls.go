package sinks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
)

// TLSConfig is the client TLS settings every network sink takes under its
// `tls` key. The zero value means the system's CAs, no client certificate
// and the server name of the address dialled.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs to trust instead of the system ones.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key (mTLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate
	// (default: the host dialled).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate verification off; each sink
	// warns loudly when it is set.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// IsZero reports whether no TLS key is set.
func (t TLSConfig) IsZero() bool { return t == TLSConfig{} }

// Validate returns the problems of t, with paths under `tls`. It reads no
// file: a missing or unreadable file is an error of Client, at start.
func (t TLSConfig) Validate() config.Problems {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return config.Problems{{Path: "tls", Message: "cert_file and key_file go together"}}
	}
	return nil
}

// ErrNoPEM says that tls.ca_file holds no PEM certificate.
var ErrNoPEM = errors.New("no PEM certificate found")

// Client builds the client TLS settings, reading the CA bundle and the
// client certificate from disk; serverName is used when t names none
// (empty: the host dialled, as crypto/tls does). Errors name the key and
// the file, never a key's content. Verification stays on unless t turns it
// off.
func (t TLSConfig) Client(serverName string) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, warned about loudly
	}
	if tc.ServerName == "" {
		tc.ServerName = serverName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: %s: %w", t.CAFile, ErrNoPEM)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// WarnIfInsecure logs, once per sink at its start, that certificate
// verification is off when t says so.
func (t TLSConfig) WarnIfInsecure(log *zap.Logger) {
	if t.InsecureSkipVerify {
		log.Warn("TLS CERTIFICATE VERIFICATION IS OFF for this sink: anyone on the path can read and alter the logs it sends; set tls.ca_file instead of tls.insecure_skip_verify")
	}
}
