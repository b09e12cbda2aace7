package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// cleverBin finds the official CLI: $CLEVER_BIN, `clever` on PATH, then the pinned install
// made by `npm install --prefix /tmp/ct clever-tools@4.11.0`.
func cleverBin() string {
	if b := os.Getenv("CLEVER_BIN"); b != "" {
		return b
	}
	if b, err := exec.LookPath("clever"); err == nil {
		return b
	}
	const pinned = "/tmp/ct/node_modules/.bin/clever"
	if _, err := os.Stat(pinned); err == nil {
		return pinned
	}
	return ""
}

// TestCleverToolsStreams runs the real `clever logs` against the emulator: it must find the
// app through the /v2 look-ups, authenticate with OAuth1 PLAINTEXT and print every line.
func TestCleverToolsStreams(t *testing.T) {
	bin := cleverBin()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("clever-tools not found: npm install --prefix /tmp/ct clever-tools@4.11.0 (or set CLEVER_BIN)")
		}
		t.Skip("clever-tools not found; npm install --prefix /tmp/ct clever-tools@4.11.0")
	}
	const n = 2000
	e, srv := start(t, Options{
		Apps:  []App{{Backlog: n, Name: "emulated"}},
		OAuth: OAuthCreds{Token: "emulator-token", Secret: "emulator-secret"},
		Seed:  42,
	})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)

	for _, tc := range []struct {
		name   string
		format string
		appArg string
	}{
		{"json-stream by id", "json-stream", app.ID},
		{"human by name", "human", app.Name},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "logs", "--app", tc.appArg,
				"--since", since.Format("2006-01-02T15:04:05.000Z"),
				"--until", until.Format("2006-01-02T15:04:05.000Z"),
				"--format", tc.format, "--no-update-notifier")
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home,
				"API_HOST=" + srv.URL, "CLEVER_TOKEN=emulator-token", "CLEVER_SECRET=emulator-secret",
				"NO_UPDATE_NOTIFIER=1", "NO_COLOR=1",
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("clever logs: %v\nstderr: %s\nstdout (head): %.2000s", err, stderr.String(), stdout.String())
			}
			out := stdout.String()
			if tc.format == "json-stream" {
				var got []string
				sc := bufio.NewScanner(&stdout)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var d decoded
					if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
						t.Fatalf("clever output line %q: %v", sc.Text(), err)
					}
					got = append(got, d.ID)
					if want := decode(t, lines[len(got)-1].Raw).Message; d.Message != want {
						t.Fatalf("line %d message %q, want %q", len(got)-1, d.Message, want)
					}
				}
				if len(got) != n {
					t.Fatalf("clever printed %d lines, want %d", len(got), n)
				}
				for i, id := range ids(lines) {
					if got[i] != id {
						t.Fatalf("line %d: id %s, want %s", i, got[i], id)
					}
				}
			} else {
				for i, l := range lines {
					if m := decode(t, l.Raw).Message; !strings.Contains(out, m) {
						t.Fatalf("line %d message %q missing from clever's output", i, m)
					}
				}
			}
			var sawLogs bool
			for _, r := range e.Requests() {
				t.Logf("clever called %s %s?%s auth=%s status=%d", r.Method, r.Path, r.Query.Encode(), r.Auth, r.Status)
				if strings.HasSuffix(r.Path, "/logs") {
					sawLogs = true
					if r.Auth != AuthPlaintext || r.Status != 200 {
						t.Errorf("logs request auth %q status %d, want %q 200", r.Auth, r.Status, AuthPlaintext)
					}
				}
			}
			if !sawLogs {
				t.Error("no logs request recorded")
			}
		})
	}
}

// BenchmarkCleverLogs measures the official `clever logs` (json-stream to a discarded pipe)
// against the emulator, as the speed baseline; b.N is the number of lines. Run:
//
//	go test ./emulator -run '^$' -bench CleverLogs -benchtime 200000x
func BenchmarkCleverLogs(b *testing.B) {
	bin := cleverBin()
	if bin == "" {
		b.Skip("clever-tools not found; npm install --prefix /tmp/ct clever-tools@4.11.0")
	}
	e, srv := start(b, Options{
		Apps:  []App{{Backlog: b.N, Spacing: time.Millisecond}},
		OAuth: OAuthCreds{Token: "emulator-token", Secret: "emulator-secret"},
	})
	app := e.Apps()[0]
	e.byID[app.ID].records(0, int64(b.N))
	since := app.Start.Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")
	until := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	home := b.TempDir()
	cmd := exec.CommandContext(b.Context(), bin, "logs", "--app", app.ID, "--since", since, "--until", until,
		"--format", "json-stream", "--no-update-notifier")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home,
		"API_HOST=" + srv.URL, "CLEVER_TOKEN=emulator-token", "CLEVER_SECRET=emulator-secret",
		"NO_UPDATE_NOTIFIER=1", "NO_COLOR=1",
	}
	var stderr bytes.Buffer
	counter := &lineCounter{}
	cmd.Stdout, cmd.Stderr = counter, &stderr
	b.ResetTimer()
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("clever logs: %v: %s", err, stderr.String())
	}
	el := time.Since(t0)
	b.StopTimer()
	if counter.n != b.N {
		b.Fatalf("clever printed %d lines, want %d", counter.n, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "lines/s")
}

// lineCounter counts newlines written to it.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
