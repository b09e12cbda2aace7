package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	sse "github.com/tmaxmax/go-sse"
)

// start serves a new emulator on loopback; both are closed when the test ends.
func start(t testing.TB, opts Options) (*Emulator, *httptest.Server) {
	t.Helper()
	e := New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(e.Close) // runs first: ends open streams so srv.Close does not wait
	return e, srv
}

func logsURL(srv *httptest.Server, a App, q url.Values) string {
	u := fmt.Sprintf("%s/v4/logs/organisations/%s/applications/%s/logs", srv.URL, a.OwnerID, a.ID)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// fast is the query of a backfill without pacing.
func fast(since, until time.Time) url.Values {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if !until.IsZero() {
		q.Set("until", until.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	q.Set("throttleElements", "1000000")
	q.Set("throttlePerInMilliseconds", "1")
	return q
}

// allOf returns a since/until window holding every line of lines.
func allOf(lines []Line) (since, until time.Time) {
	since, until = lines[0].Date, lines[0].Date
	for _, l := range lines {
		if l.Date.Before(since) {
			since = l.Date
		}
		if l.Date.After(until) {
			until = l.Date
		}
	}
	return since, until.Add(time.Millisecond)
}

type result struct {
	resp   *http.Response
	body   []byte // raw body (when read through readAll)
	events []sse.Event
	err    error // read error (not EOF)
}

// get sends a logs request with optional headers.
func get(t testing.TB, ctx context.Context, u string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// readAll reads a whole stream (it must end by itself within 20 s) and parses it with go-sse.
func readAll(t testing.TB, u string, hdr map[string]string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	resp := get(t, ctx, u, hdr)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	res := result{resp: resp, body: body, err: err}
	if resp.StatusCode != http.StatusOK {
		return res
	}
	for ev, err := range sse.Read(bytes.NewReader(body), &sse.ReadConfig{MaxEventSize: 4 << 20}) {
		if err != nil {
			t.Fatalf("sse parse: %v", err)
		}
		res.events = append(res.events, ev)
	}
	return res
}

// logs returns the APPLICATION_LOG events, and the END_OF_STREAM reason ("" when none).
func logs(events []sse.Event) (out []sse.Event, ended string) {
	for _, ev := range events {
		switch ev.Type {
		case "APPLICATION_LOG":
			out = append(out, ev)
		case "END_OF_STREAM":
			var v struct{ EndedBy string }
			if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
				ended = "bad:" + ev.Data
			} else {
				ended = v.EndedBy
			}
		}
	}
	return out, ended
}

// decoded is the JSON of a line.
type decoded struct {
	ID           string `json:"id"`
	Date         string `json:"date"`
	InstanceID   string `json:"instanceId"`
	DeploymentID string `json:"deploymentId"`
	Service      string `json:"service"`
	Message      string `json:"message"`
	Zone         string `json:"zone"`
}

func decode(t testing.TB, raw []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	return d
}

// ids returns the ids of lines.
func ids(lines []Line) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.ID
	}
	return out
}

// eventIDs returns the JSON ids of APPLICATION_LOG events, checking that the SSE id matches.
func eventIDs(t testing.TB, evs []sse.Event) []string {
	t.Helper()
	out := make([]string, len(evs))
	for i, ev := range evs {
		d := decode(t, []byte(ev.Data))
		if ev.LastEventID != d.ID {
			t.Fatalf("event %d: SSE id %q, JSON id %q", i, ev.LastEventID, d.ID)
		}
		out[i] = d.ID
	}
	return out
}

// stream reads the events of u as they arrive, calling fn until it returns false or the
// stream ends; it returns the read error (nil at a clean end or when fn stopped).
func stream(t testing.TB, ctx context.Context, u string, hdr map[string]string, fn func(ev sse.Event, at time.Time) bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp := get(t, ctx, u, hdr)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var rerr error
	for ev, err := range sse.Read(resp.Body, &sse.ReadConfig{MaxEventSize: 4 << 20}) {
		if err != nil {
			rerr = err
			break
		}
		if !fn(ev, time.Now()) {
			return nil
		}
	}
	return rerr
}
