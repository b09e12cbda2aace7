package syslog

import (
	"github.com/logship/logship/config"

	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

func newTestSink(t testing.TB, cfg *Config) *Sink {
	t.Helper()
	s, err := New(cfg, Options{Name: "syslog-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testConfig(addr, protocol string) *Config {
	c := NewDefaultConfig()
	c.Address, c.Protocol, c.Hostname = addr, protocol, "logship-test"
	c.Timeout = config.Duration(5 * time.Second)
	return c
}

// deliver writes b until the sink accepts it, as the pipeline's retry
// does; it returns the number of failed attempts.
func deliver(t testing.TB, s *Sink, b *event.Batch) int {
	t.Helper()
	for fails := 0; ; fails++ {
		err := s.Write(t.Context(), b)
		if err == nil {
			return fails
		}
		if event.IsPermanent(err) {
			t.Fatalf("permanent error: %v", err)
		}
		if fails > 50 {
			t.Fatalf("still failing: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkOnce fails unless ids 0..n-1 each arrived exactly once.
func checkOnce(t testing.TB, got map[string]int, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("%d distinct ids, want %d", len(got), n)
	}
	for i := range n {
		if c := got[idName(i)]; c != 1 {
			t.Errorf("%s arrived %d times", idName(i), c)
		}
	}
}

func TestTCPMessagesParseAndMap(t *testing.T) {
	r := newTCPReceiver(t, listenTCP(t))
	s := newTestSink(t, testConfig(r.addr, ProtocolTCP))
	deliver(t, s, batchOf(0, 3))
	r.waitCount(t, 3)
	m := r.msgs[1]
	ev := testEvent(1, "app_0a1b2c3d")
	if m.Pri != 1*8+6 {
		t.Errorf("PRI %d, want 14 (user.info)", m.Pri)
	}
	if !m.Time.Equal(ev.Time()) {
		t.Errorf("time %v, want %v", m.Time, ev.Time())
	}
	if m.Hostname != "logship-test" || m.AppName != "app_0a1b2c3d" || m.ProcID != "6a1b0c9e-5d3f-4b7a-8c2e-1f0a9b8c7d6e" || m.MsgID != "bas.service" {
		t.Errorf("header %q %q %q %q", m.Hostname, m.AppName, m.ProcID, m.MsgID)
	}
	want := map[string]string{"id": "id-0000001", "applicationId": "app_0a1b2c3d", "instanceId": "6a1b0c9e-5d3f-4b7a-8c2e-1f0a9b8c7d6e", "deploymentId": "deployment_1"}
	for k, v := range want {
		if m.SD[DefaultSDID][k] != v {
			t.Errorf("SD %s = %q, want %q", k, m.SD[DefaultSDID][k], v)
		}
	}
	if m.Msg != "GET /items/1 200 \"ok\" \x1b[32mgreen\x1b[0m" {
		t.Errorf("MSG %q", m.Msg)
	}
}

// TestFormat checks the mapping of fields to the header, case by case.
func TestFormat(t *testing.T) {
	base := func(mod func(*Config)) *formatter {
		c := NewDefaultConfig()
		c.Address = "127.0.0.1:514"
		if mod != nil {
			mod(c)
		}
		if ps := c.Validate(); len(ps) > 0 {
			t.Fatal(ps)
		}
		return newFormatter(c, "host")
	}
	cases := []struct {
		name string
		f    *formatter
		raw  string
		app  string
		// checks on the parsed message
		check func(*message) string
		cut   bool
	}{
		{"severity name", base(nil), `{"id":"a","severity":"ERROR","message":"x"}`, "app_1",
			func(m *message) string { return want(m.Pri, 1*8+3) }, false},
		{"priority number", base(nil), `{"id":"a","priority":4,"message":"x"}`, "app_1",
			func(m *message) string { return want(m.Pri, 1*8+4) }, false},
		{"unknown severity, default", base(func(c *Config) { c.Severity = "notice"; c.Facility = "local3" }), `{"id":"a","severity":"loud"}`, "app_1",
			func(m *message) string { return want(m.Pri, 19*8+5) }, false},
		{"facility from the line", base(nil), `{"id":"a","facility":"daemon","severity":"debug"}`, "app_1",
			func(m *message) string { return want(m.Pri, 3*8+7) }, false},
		{"numeric facility", base(nil), `{"id":"a","facility":16,"severity":"warn"}`, "app_1",
			func(m *message) string { return want(m.Pri, 16*8+4) }, false},
		{"no message: no MSG", base(nil), `{"id":"a"}`, "app_1",
			func(m *message) string { return want(m.HasMsg, false) }, false},
		{"app name from enrichment", base(nil), `{"id":"a","clevercloud":{"application":{"name":"shop web"}},"applicationId":"app_9"}`, "app_9",
			func(m *message) string { return want(m.AppName, "shop_web") }, false},
		{"app id when fields removed it", base(nil), `{"id":"a"}`, "app_7",
			func(m *message) string { return want(m.AppName, "app_7") }, false},
		{"fixed app name", base(func(c *Config) { c.AppName = "shop" }), `{"id":"a","applicationId":"app_9"}`, "app_9",
			func(m *message) string { return want(m.AppName, "shop") }, false},
		{"escaped SD values", base(nil), `{"id":"a\"]\\b","instanceId":"i"}`, "app_1",
			func(m *message) string { return want(m.SD[DefaultSDID]["id"], `a"]\b`) }, false},
		{"json format", base(func(c *Config) { c.Format = FormatJSON }), `{"id":"a","message":"m"}`, "app_1",
			func(m *message) string { return want(m.Msg, `{"id":"a","message":"m"}`) }, false},
		{"truncated on a rune boundary", base(func(c *Config) { c.MaxMessageBytes = 480 }), `{"id":"a","message":"` + strings.Repeat("é", 400) + `"}`, "app_1",
			func(m *message) string {
				if m.RawLength > 480 || m.RawLength < 478 {
					return fmt.Sprintf("length %d", m.RawLength)
				}
				return ""
			}, true},
		{"long header fields cut", base(nil), `{"id":"a","service":"` + strings.Repeat("s", 40) + `"}`, "app_1",
			func(m *message) string { return want(len(m.MsgID), 32) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := event.Event{Raw: []byte(tc.raw), ID: "a", AppID: tc.app, Date: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano()}
			if strings.Contains(tc.raw, `a\"]`) {
				ev.ID = `a"]\b`
			}
			var lf lineFields
			out, cut := tc.f.format(nil, &ev, &lf)
			m, err := parse5424(out)
			if err != nil {
				t.Fatalf("%v in %q", err, out)
			}
			if cut != tc.cut {
				t.Errorf("cut %v, want %v", cut, tc.cut)
			}
			if msg := tc.check(m); msg != "" {
				t.Errorf("%s in %q", msg, out)
			}
			if m.Time.Nanosecond() != 123456000 {
				t.Errorf("time %v: want microseconds", m.Time)
			}
		})
	}
}

func want[T comparable](got, want T) string {
	if got != want {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	return ""
}

// TestTCPReceiverClosesWhileIdle: the receiver closes the connection
// between two batches (a restart, an idle timeout). The sink notices
// before writing the next batch and reconnects: every id arrives once.
// Without the check, the next batch would be written into the dead
// connection, "succeed", and be lost.
func TestTCPReceiverClosesWhileIdle(t *testing.T) {
	r := newTCPReceiver(t, listenTCP(t))
	r.after = func(c, n int) action {
		if n == 100 && c < 3 {
			return closeConn
		}
		return keepGoing
	}
	s := newTestSink(t, testConfig(r.addr, ProtocolTCP))
	for i := range 4 {
		if fails := deliver(t, s, batchOf(i*100, (i+1)*100)); fails != 0 {
			t.Errorf("batch %d: %d failed attempts", i, fails)
		}
		if i < 2 {
			select {
			case <-r.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("receiver did not close")
			}
		}
	}
	r.waitCount(t, 400)
	time.Sleep(20 * time.Millisecond)
	checkOnce(t, r.ids(), 400)
	if r.conns != 3 {
		t.Errorf("%d connections, want 3", r.conns)
	}
}

// TestTCPReceiverDownAtStart: the first writes fail while nothing listens;
// once the receiver is up, the batch arrives once.
func TestTCPReceiverDownAtStart(t *testing.T) {
	ln := listenTCP(t)
	addr := ln.Addr().String()
	_ = ln.Close()
	s := newTestSink(t, testConfig(addr, ProtocolTCP))
	err := s.Write(t.Context(), batchOf(0, 10))
	if err == nil || event.IsPermanent(err) {
		t.Fatalf("write to a closed port: %v, want a retryable error", err)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	r := newTCPReceiver(t, ln2)
	deliver(t, s, batchOf(0, 10))
	r.waitCount(t, 10)
	checkOnce(t, r.ids(), 10)
}

func TestTLS(t *testing.T) {
	cert, caFile := testCert(t)
	r := newTCPReceiver(t, listenTLS(t, cert))
	r.after = func(c, n int) action {
		if n == 50 && c == 1 {
			return closeConn
		}
		return keepGoing
	}
	cfg := testConfig(r.addr, ProtocolTLS)
	cfg.TLS.CAFile = caFile
	s := newTestSink(t, cfg)
	deliver(t, s, batchOf(0, 50))
	<-r.closed
	deliver(t, s, batchOf(50, 100))
	r.waitCount(t, 100)
	checkOnce(t, r.ids(), 100)

	// A receiver whose certificate the sink does not trust: retryable
	// errors, nothing delivered.
	r2 := newTCPReceiver(t, listenTLS(t, cert))
	cfg2 := testConfig(r2.addr, ProtocolTLS)
	s2 := newTestSink(t, cfg2)
	if err := s2.Write(t.Context(), batchOf(0, 1)); err == nil || !strings.Contains(err.Error(), "handshake") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestStartRefusesMissingCA(t *testing.T) {
	cfg := testConfig("127.0.0.1:6514", ProtocolTLS)
	cfg.TLS.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Errorf("start: %v", err)
	}
}

func TestUDPTruncates(t *testing.T) {
	r := newUDPReceiver(t)
	cfg := testConfig(r.addr, ProtocolUDP)
	cfg.MaxMessageBytes = 600
	s := newTestSink(t, cfg)
	b := batchOf(0, 50)
	long := `{"id":"id-long","applicationId":"app_0a1b2c3d","message":"` + strings.Repeat("x", 5000) + `"}`
	b.Add(event.Event{Raw: []byte(long), ID: "id-long", AppID: "app_0a1b2c3d"})
	deliver(t, s, b)
	r.waitCount(t, 51)
	if s.Truncated() != 1 {
		t.Errorf("truncated %d, want 1", s.Truncated())
	}
	ids := r.ids()
	if ids["id-long"] != 1 {
		t.Errorf("long line arrived %d times", ids["id-long"])
	}
	for _, m := range r.msgs {
		if m.RawLength > 600 {
			t.Errorf("datagram of %d bytes", m.RawLength)
		}
	}
}

func TestWriteCancelled(t *testing.T) {
	r := newTCPReceiver(t, listenTCP(t))
	s := newTestSink(t, testConfig(r.addr, ProtocolTCP))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Write(ctx, batchOf(0, 1)); err == nil {
		t.Error("write under a cancelled context succeeded")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want []string // paths
	}{
		{"defaults with an address", func(c *Config) {}, nil},
		{"no address", func(c *Config) { c.Address = "" }, []string{"address"}},
		{"bad address", func(c *Config) { c.Address = "syslog.example" }, []string{"address"}},
		{"bad port", func(c *Config) { c.Address = "h:99999" }, []string{"address"}},
		{"protocol", func(c *Config) { c.Protocol = "relp" }, []string{"protocol"}},
		{"tls keys without tls", func(c *Config) { c.TLS.CAFile = "/ca.pem" }, []string{"tls"}},
		{"cert without key", func(c *Config) { c.Protocol = ProtocolTLS; c.TLS.CertFile = "/c.pem" }, []string{"tls"}},
		{"facility", func(c *Config) { c.Facility = "local9" }, []string{"facility"}},
		{"facility number", func(c *Config) { c.Facility = "24" }, []string{"facility"}},
		{"severity", func(c *Config) { c.Severity = "loud" }, []string{"severity"}},
		{"hostname with space", func(c *Config) { c.Hostname = "a b" }, []string{"hostname"}},
		{"app name too long", func(c *Config) { c.AppName = strings.Repeat("a", 49) }, []string{"app_name"}},
		{"app_name_from path", func(c *Config) { c.AppNameFrom = []string{"a..b"} }, []string{"app_name_from[0]"}},
		{"sd_id without number", func(c *Config) { c.SDID = "logship" }, []string{"sd_id"}},
		{"sd_id with quote", func(c *Config) { c.SDID = `log"ship@1` }, []string{"sd_id"}},
		{"format", func(c *Config) { c.Format = "xml" }, []string{"format"}},
		{"max bytes small", func(c *Config) { c.MaxMessageBytes = 100 }, []string{"max_message_bytes"}},
		{"max bytes udp", func(c *Config) { c.Protocol = ProtocolUDP; c.MaxMessageBytes = 70000 }, []string{"max_message_bytes"}},
		{"timeout", func(c *Config) { c.Timeout = 0 }, []string{"timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDefaultConfig()
			c.Address = "syslog.example:6514"
			tc.mod(c)
			ps := c.Validate()
			var got []string
			for _, p := range ps {
				got = append(got, p.Path)
				if strings.Contains(p.Message, c.Address) && c.Address != "" {
					t.Errorf("message quotes a value: %s", p)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("problems %v, want paths %v", ps, tc.want)
			}
		})
	}
}

// testCert returns a self-signed certificate for 127.0.0.1 and the path of
// its PEM (the CA file to trust).
func testCert(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "syslog-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, path
}
