package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/logship/logship/emulator"
)

// TestNoSecretEscapes runs logship as a process with a real-looking
// credential in every secret slot it has (the API token from a file, a
// bearer token from a variable, header values from files, a basic-auth
// password, a Datadog API key, an S3 secret key), with receivers that
// fail and refuse so that every error path logs, at debug level; then
// scans everything logship wrote or served: its stderr and stdout,
// /metrics, /readyz, the dead-letter file, and `validate` on a broken
// copy of the config. No secret, nor the basic-auth header that encodes
// one, may appear anywhere.
func TestNoSecretEscapes(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	secrets := map[string]string{
		"api token":         "cc-tok-9f8e7d6c5b4a3210fedcba98",
		"bearer token":      "bearer-5e4d3c2b1a09f8e7d6c5",
		"header value":      "hdr-key-0a1b2c3d4e5f60718293",
		"basic password":    "pw-Zx9kq72LmN4pQ8",
		"datadog api key":   "dd0123456789abcdef0123456789abcd",
		"s3 secret key":     "s3secret-AbCdEf0123456789XyZwVuT",
		"s3 session token":  "s3session-FwoGZXIvYXdzEJr7",
		"api token in env":  "cc-env-tok-77aa88bb99cc00dd",
		"header from env":   "hdr-env-31415926535897932",
		"validate password": "pw-validate-2718281828",
	}
	emu, api := startEmulator(t, emulator.Options{Token: secrets["api token"], Apps: []emulator.App{{
		Start: time.Now().Add(-2 * time.Second), Backlog: 300, Spacing: 5 * time.Millisecond, Rate: 200,
	}}})
	app := emu.Apps()[0]

	// Receivers: each answers 503 twice, then refuses one batch with 401
	// (dead-lettered), then accepts; what they were sent is kept to check
	// that the credentials did travel (the test would pass vacuously if a
	// sink never sent them).
	var mu sync.Mutex
	seen := map[string]bool{}
	receiver := func(name string) *httptest.Server {
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			mu.Lock()
			n++
			k := n
			for _, v := range []string{r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("X-Env-Key"), r.Header.Get("DD-API-KEY")} {
				if v != "" {
					seen[name+" "+v] = true
				}
			}
			mu.Unlock()
			switch {
			case k <= 2:
				http.Error(w, `{"error":"overloaded"}`, http.StatusServiceUnavailable)
			case k == 3:
				http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			default:
				w.WriteHeader(http.StatusOK)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	bearer, basic, datadog := receiver("bearer"), receiver("basic"), receiver("datadog")
	backend := s3mem.New()
	if err := backend.CreateBucket("archive"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)

	dir := t.TempDir()
	writeSecret := func(name, value string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yaml := fmt.Sprintf(`api:
  url: %s
  token_file: %s
state_dir: %s
sources:
  - owner_id: %s
    application_id: %s
    since: %s
    heartbeat_timeout: 2s
sinks:
  - type: http
    name: bearer
    url: %s/ingest
    auth: {strategy: bearer, token: "${SINK_TOKEN}"}
    headers_file: {X-Api-Key: %s}
    headers: {X-Env-Key: "${HEADER_VALUE}"}
    retry: {initial_backoff: 20ms, max_backoff: 100ms}
    batch: {max_wait: 50ms}
  - type: http
    name: basic
    url: %s/ingest
    auth: {strategy: basic, user: shipper, password_file: %s}
    retry: {initial_backoff: 20ms, max_backoff: 100ms}
    batch: {max_wait: 50ms}
  - type: http
    name: datadog
    url: %s/api/v2/logs
    encoding: datadog
    datadog: {api_key: "%s"}
    retry: {initial_backoff: 20ms, max_backoff: 100ms}
    batch: {max_wait: 50ms}
  - type: s3
    endpoint: %s
    region: us-east-1
    bucket: archive
    path_style: true
    access_key_id: test-key
    secret_access_key: "${S3_SECRET}"
    session_token_file: %s
    batch: {max_wait: 200ms}
metrics:
  listen: 127.0.0.1:0
log:
  level: debug
`, api, writeSecret("token", secrets["api token"]), filepath.Join(dir, "state"), app.OwnerID, app.ID,
		app.Start.Add(-time.Minute).Format(time.RFC3339Nano),
		bearer.URL, writeSecret("header", secrets["header value"]),
		basic.URL, writeSecret("password", secrets["basic password"]),
		datadog.URL, secrets["datadog api key"],
		s3srv.URL, writeSecret("session", secrets["s3 session token"]))
	cfgPath := writeConfig(t, dir, yaml)
	env := []string{
		"SINK_TOKEN=" + secrets["bearer token"],
		"HEADER_VALUE=" + secrets["header from env"],
		"S3_SECRET=" + secrets["s3 secret key"],
		// A second credential in the environment that the config does not use.
		"CLEVER_API_TOKEN=" + secrets["api token in env"],
	}

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := logshipCmd(ctx, "run", "--config", cfgPath)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var addr string
	waitFor(t, 30*time.Second, func() bool {
		s := stderr.String()
		i := strings.Index(s, `"msg":"serving metrics","addr":"`)
		if i < 0 {
			return false
		}
		s = s[i+len(`"msg":"serving metrics","addr":"`):]
		j := strings.Index(s, `"`)
		if j < 0 { // the line is not whole yet
			return false
		}
		addr = s[:j]
		return true
	})
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var pages strings.Builder
	// Every receiver has refused a batch and then accepted some.
	waitFor(t, 60*time.Second, func() bool {
		m := get("/metrics")
		return metricValue(m, `logship_events_sent_total{sink="bearer"}`) > 0 &&
			metricValue(m, `logship_events_sent_total{sink="basic"}`) > 0 &&
			metricValue(m, `logship_events_sent_total{sink="datadog"}`) > 0 &&
			metricValue(m, `logship_events_sent_total{sink="s3"}`) > 0
	})
	pages.WriteString(get("/metrics"))
	pages.WriteString(get("/readyz"))
	pages.WriteString(get("/healthz"))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	deadLetters, _ := os.ReadFile(filepath.Join(dir, "state", "dead-letter.ndjson"))
	if len(deadLetters) == 0 {
		t.Fatal("no batch was dead-lettered: the refusal path did not run")
	}

	// The credentials did travel to the receivers.
	mu.Lock()
	for _, want := range []string{
		"bearer Bearer " + secrets["bearer token"],
		"bearer " + secrets["header value"],
		"bearer " + secrets["header from env"],
		"basic Basic " + base64.StdEncoding.EncodeToString([]byte("shipper:"+secrets["basic password"])),
		"datadog " + secrets["datadog api key"],
	} {
		if !seen[want] {
			t.Errorf("the receiver never got %q: the scan below would prove nothing for it", want)
		}
	}
	mu.Unlock()

	// validate on a broken copy of the config (and a problem next to a
	// secret key) prints problems, never the secrets.
	broken := strings.Replace(yaml, "    name: basic\n", "    name: basic\n    pasword: \"${VALIDATE_PW}\"\n", 1)
	broken = strings.Replace(broken, "    encoding: datadog\n", "    encoding: datadogg\n", 1)
	vcmd := logshipCmd(ctx, "validate", "--config", writeConfig(t, t.TempDir(), broken))
	vcmd.Env = append(vcmd.Env, append(env, "VALIDATE_PW="+secrets["validate password"])...)
	vout, err := vcmd.CombinedOutput()
	if err == nil || !strings.Contains(string(vout), "sinks[1].pasword") || !strings.Contains(string(vout), "sinks[2].encoding") {
		t.Fatalf("validate of the broken config: %v\n%s", err, vout)
	}

	outputs := map[string]string{
		"stderr":             stderr.String(),
		"stdout":             stdout.String(),
		"metrics and health": pages.String(),
		"dead-letter file":   string(deadLetters),
		"validate output":    string(vout),
	}
	encoded := map[string]string{
		"basic auth header": base64.StdEncoding.EncodeToString([]byte("shipper:" + secrets["basic password"])),
	}
	for what, text := range outputs {
		if text == "" && what != "stdout" {
			t.Errorf("%s is empty: nothing was scanned", what)
		}
		for name, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s appears in %s", name, what)
			}
		}
		for name, s := range encoded {
			if strings.Contains(text, s) {
				t.Errorf("the %s appears in %s", name, what)
			}
		}
	}
}
