package httpsink

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/logship/logship/config"
)

const secretToken = "s3cr3t-t0k3n-value"

func TestAuthAndHeaders(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want map[string]string // header -> value ("" = absent)
		host string
	}{
		{
			name: "bearer",
			cfg:  Config{Auth: AuthConfig{Strategy: "bearer", Token: secretToken}},
			want: map[string]string{"Authorization": "Bearer " + secretToken},
		},
		{
			name: "bearer inferred from token",
			cfg:  Config{Auth: AuthConfig{Token: secretToken}},
			want: map[string]string{"Authorization": "Bearer " + secretToken},
		},
		{
			name: "basic",
			cfg:  Config{Auth: AuthConfig{Strategy: "basic", User: "elastic", Password: secretToken}},
			want: map[string]string{"Authorization": "Basic ZWxhc3RpYzpzM2NyM3QtdDBrM24tdmFsdWU="},
		},
		{
			name: "none",
			cfg:  Config{},
			want: map[string]string{"Authorization": "", "User-Agent": "logship"},
		},
		{
			name: "static headers and host",
			cfg: Config{Headers: map[string]config.Secret{
				"X-Api-Key": secretToken, "DD-EVP-ORIGIN": "logship", "Host": "intake.example",
			}},
			want: map[string]string{"X-Api-Key": secretToken, "Dd-Evp-Origin": "logship"},
			host: "intake.example",
		},
		{
			name: "content type override",
			cfg:  Config{Headers: map[string]config.Secret{"Content-Type": "application/x-ndjson; charset=utf-8"}},
			want: map[string]string{"Content-Type": "application/x-ndjson; charset=utf-8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, "ndjson", nil)
			cfg := tt.cfg
			cfg.URL = rc.url()
			s := newSink(t, cfg, Options{})
			if err := s.Write(t.Context(), makeBatch(0, 2)); err != nil {
				t.Fatal(err)
			}
			reqs, _ := rc.snapshot()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			for k, v := range tt.want {
				if got := reqs[0].Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.host != "" && reqs[0].Host != tt.host {
				t.Errorf("Host %q, want %q", reqs[0].Host, tt.host)
			}
		})
	}
}

// TestSecretsNeverPrinted: refusals, network errors and warnings name the
// endpoint without its credentials.
func TestSecretsNeverPrinted(t *testing.T) {
	rc := newReceiver(t, "ndjson", func(*received) reply {
		return reply{Status: 401, Body: []byte(`{"error":"unauthorized"}`)}
	})
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := Config{
		URL:     strings.Replace(rc.url(), "http://", "http://user:"+secretToken+"@", 1) + "?api_key=" + secretToken,
		Auth:    AuthConfig{Token: secretToken},
		Headers: map[string]config.Secret{"X-Api-Key": secretToken},
	}
	s := newSink(t, cfg, Options{Logger: zap.New(core)})
	err := s.Write(t.Context(), makeBatch(0, 1))
	if err == nil {
		t.Fatal("401 accepted")
	}
	texts := []string{err.Error(), fmt.Sprintf("%v %+v %#v %v", cfg.Auth, cfg.Auth, cfg.Headers, cfg.Headers)}

	// A network error: nothing listens on the port any more.
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	addr := l.Addr().String()
	l.Close()
	cfg.URL = "http://user:" + secretToken + "@" + addr + "/x?token=" + secretToken
	s2 := newSink(t, cfg, Options{Logger: zap.New(core)})
	err = s2.Write(t.Context(), makeBatch(0, 1))
	if err == nil {
		t.Fatal("write to a closed port succeeded")
	}
	texts = append(texts, err.Error())
	if logs.Len() == 0 {
		t.Error("no warning about credentials over plain http")
	}
	for _, e := range logs.All() {
		texts = append(texts, e.Message)
		for k, v := range e.ContextMap() {
			texts = append(texts, k+"="+fmt.Sprint(v))
		}
	}
	for _, s := range texts {
		if strings.Contains(s, secretToken) {
			t.Errorf("secret printed: %s", s)
		}
	}
}
