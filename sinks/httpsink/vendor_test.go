package httpsink

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/sinks"
)

// vendorReceiver decodes Datadog or New Relic requests, checks the
// vendor's limits on each, counts the ids it accepted and answers with
// the status that fail gives (0: 202).
type vendorReceiver struct {
	t        *testing.T
	encoding string
	fail     func(n int) int

	lim chunkLimits

	mu       sync.Mutex
	requests int
	accepted map[string]int
	header   http.Header
	entries  []map[string]any
	common   map[string]any
	maxWire  int
}

func newVendorReceiver(t *testing.T, encoding string) (*vendorReceiver, *httptest.Server) {
	v := &vendorReceiver{t: t, encoding: encoding, accepted: map[string]int{},
		lim: chunkLimits{maxEntries: datadogMaxEntries, maxBody: datadogMaxBody, maxEntry: datadogMaxEntry, maxWire: newRelicMaxWire}}
	srv := httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(srv.Close)
	return v, srv
}

func (v *vendorReceiver) serve(w http.ResponseWriter, r *http.Request) {
	wire := int(r.ContentLength)
	body, err := readBody(r)
	if err != nil {
		v.t.Error(err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		v.t.Errorf("Content-Type %q", ct)
	}
	var entries []map[string]any
	var common map[string]any
	switch v.encoding {
	case "datadog":
		if len(body) > v.lim.maxBody {
			v.t.Errorf("datadog request of %d bytes", len(body))
		}
		if err := json.Unmarshal(body, &entries); err != nil {
			v.t.Errorf("datadog body: %v", err)
		}
		if len(entries) > v.lim.maxEntries {
			v.t.Errorf("datadog request of %d entries", len(entries))
		}
		for _, e := range entries {
			if b, _ := json.Marshal(e); len(b) > v.lim.maxEntry {
				v.t.Errorf("datadog entry of %d bytes", len(b))
			}
		}
	case "newrelic":
		if wire > v.lim.maxWire {
			v.t.Errorf("newrelic request of %d bytes as sent", wire)
		}
		var payload []struct {
			Common struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"common"`
			Logs []map[string]any `json:"logs"`
		}
		if err := json.Unmarshal(body, &payload); err != nil || len(payload) != 1 {
			v.t.Errorf("newrelic body: %v", err)
		} else {
			entries, common = payload[0].Logs, payload[0].Common.Attributes
		}
	}
	v.mu.Lock()
	n := v.requests
	v.requests++
	v.header = r.Header.Clone()
	v.common = common
	v.maxWire = max(v.maxWire, wire)
	status := http.StatusAccepted
	if v.fail != nil {
		if s := v.fail(n); s != 0 {
			status = s
		}
	}
	if status/100 == 2 {
		for _, e := range entries {
			id, _ := e["id"].(string)
			if attrs, ok := e["attributes"].(map[string]any); ok {
				id, _ = attrs["id"].(string)
			}
			v.accepted[id]++
		}
		v.entries = append(v.entries, entries...)
	}
	v.mu.Unlock()
	w.WriteHeader(status)
}

// vendorBatch returns n small lines from id-<first>.
func vendorBatch(first, n int) *event.Batch {
	b := &event.Batch{}
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano()
	for i := first; i < first+n; i++ {
		id := fmt.Sprintf("id-%06d", i)
		date := base + int64(i)*int64(time.Millisecond)
		raw := fmt.Sprintf(`{"id":%q,"date":%q,"applicationId":"app_1","instanceId":"inst-%d","zone":"par","severity":"warn","service":"bas.service","message":"line %d \"q\" é"}`,
			id, time.Unix(0, date).UTC().Format(time.RFC3339Nano), i%2, i)
		b.Add(event.Event{Raw: []byte(raw), ID: id, Date: date, Source: "src", AppID: "app_1"})
	}
	return b
}

// bigEvent returns a line whose message is size bytes of text that does
// not compress.
func bigEvent(id string, size int, rng *rand.Rand) event.Event {
	buf := make([]byte, size*3/4+3)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	msg := base64.StdEncoding.EncodeToString(buf)[:size]
	raw := fmt.Sprintf(`{"id":%q,"date":"2026-11-27T10:00:00Z","applicationId":"app_1","message":%q}`, id, msg)
	return event.Event{Raw: []byte(raw), ID: id, Date: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano(), AppID: "app_1"}
}

func TestDatadogEntries(t *testing.T) {
	v, srv := newVendorReceiver(t, "datadog")
	s := newSink(t, Config{URL: srv.URL + "/api/v2/logs", Encoding: EncodingDatadog, Datadog: DatadogConfig{
		APIKey: "dd-secret-key", Tags: []string{"env:prod", "application_id:{applicationId}", "zone:{zone}", "commit:{commitId}"},
	}}, Options{})
	b := vendorBatch(0, 3)
	b.Add(event.Event{Raw: []byte(`{"id":"id-enriched","applicationId":"app_1","clevercloud":{"application":{"name":"shop"}},"message":"m"}`), ID: "id-enriched", AppID: "app_1"})
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if got := v.header.Get("DD-API-KEY"); got != "dd-secret-key" {
		t.Errorf("DD-API-KEY %q", got)
	}
	e := v.entries[1]
	want := map[string]any{"ddsource": "clevercloud", "service": "app_1", "hostname": "inst-1", "ddtags": "env:prod,application_id:app_1,zone:par",
		"status": "warn", "message": `line 1 "q" é`, "clevercloud_service": "bas.service", "id": "id-000001", "date": "2026-11-27T10:00:00.001Z"}
	for k, w := range want {
		if e[k] != w {
			t.Errorf("%s = %v, want %v", k, e[k], w)
		}
	}
	if e := v.entries[3]; e["service"] != "shop" || e["status"] != "info" || e["hostname"] != nil {
		t.Errorf("enriched line: service %v, status %v, hostname %v", e["service"], e["status"], e["hostname"])
	}
}

// TestDatadogSplitsWithinLimits sends one batch that breaks each of
// Datadog's limits: more than 1000 entries, more than 5 MB, and an entry
// larger than 1 MB. The sink sends it in requests within the limits, and
// dead-letters the entry too large; a 503 in the middle retries only the
// requests not accepted. Every other id arrives once.
func TestDatadogSplitsWithinLimits(t *testing.T) {
	v, srv := newVendorReceiver(t, "datadog")
	failed := false
	v.fail = func(n int) int {
		if n == 2 && !failed {
			failed = true
			return http.StatusServiceUnavailable
		}
		return 0
	}
	s := newSink(t, Config{URL: srv.URL, Encoding: EncodingDatadog, Compression: "gzip",
		Datadog: DatadogConfig{APIKey: "k"}}, Options{})
	// Datadog's limits divided by 100 (1000 entries, 5 MB, 1 MB per
	// entry become 10, 50 kB, 10 kB), to keep the test fast.
	v.lim = chunkLimits{maxEntries: datadogMaxEntries / 100, maxBody: datadogMaxBody / 100, maxEntry: datadogMaxEntry / 100}
	s.enc.(*datadogEncoder).lim = v.lim
	rng := rand.New(rand.NewPCG(1, 2))
	b := vendorBatch(0, 25)
	for i := range 60 {
		b.Add(bigEvent(fmt.Sprintf("big-%02d", i), 1_000, rng))
	}
	b.Add(bigEvent("too-big", 11_000, rng))
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	d := &deliverer{sink: s, initial: time.Millisecond, maxBackoff: 5 * time.Millisecond, deadLetter: dl}
	if err := d.deliver(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	dead := readDead(t, dl)
	if len(dead) != 1 || dead[0].ID != "too-big" || !strings.Contains(dead[0].Reason, "per entry") {
		t.Errorf("dead letters %v", dead)
	}
	for _, e := range b.Events {
		if e.ID == "too-big" {
			continue
		}
		if v.accepted[e.ID] != 1 {
			t.Errorf("%s accepted %d times", e.ID, v.accepted[e.ID])
		}
	}
	if v.requests < 5 {
		t.Errorf("%d requests: the batch was not split", v.requests)
	}
}

// TestNewRelicSplitsCompressed: with gzip, New Relic's 1 MB limit applies
// to the compressed payload. A batch of incompressible lines is cut until
// each request fits; a line alone too large is dead-lettered.
func TestNewRelicSplitsCompressed(t *testing.T) {
	for _, comp := range []string{"gzip", "none"} {
		t.Run(comp, func(t *testing.T) {
			v, srv := newVendorReceiver(t, "newrelic")
			s := newSink(t, Config{URL: srv.URL + "/log/v1", Encoding: EncodingNewRelic, Compression: comp,
				NewRelic: NewRelicConfig{LicenseKey: "nr-license", CommonAttributes: map[string]string{"env": "prod"}}}, Options{})
			// New Relic's 1 MB limit divided by 100, to keep the test fast.
			nr := s.enc.(*newRelicEncoder)
			nr.lim.maxWire /= 100
			nr.lim.maxBody /= 100
			v.lim = nr.lim
			rng := rand.New(rand.NewPCG(3, 4))
			b := vendorBatch(0, 50)
			for i := range 40 {
				b.Add(bigEvent(fmt.Sprintf("big-%02d", i), 600, rng))
			}
			b.Add(bigEvent("too-big", 16_000, rng))
			dl := filepath.Join(t.TempDir(), "dead.ndjson")
			d := &deliverer{sink: s, initial: time.Millisecond, maxBackoff: 5 * time.Millisecond, deadLetter: dl}
			if err := d.deliver(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			if got := v.header.Get("X-License-Key"); got != "nr-license" {
				t.Errorf("X-License-Key %q", got)
			}
			if v.common["env"] != "prod" || v.common["collector.name"] != "logship" {
				t.Errorf("common attributes %v", v.common)
			}
			dead := readDead(t, dl)
			if len(dead) != 1 || dead[0].ID != "too-big" {
				t.Errorf("dead letters %v", dead)
			}
			for _, e := range b.Events {
				if e.ID != "too-big" && v.accepted[e.ID] != 1 {
					t.Errorf("%s accepted %d times", e.ID, v.accepted[e.ID])
				}
			}
			if v.requests < 3 || v.maxWire > v.lim.maxWire {
				t.Errorf("%d requests, largest %d bytes", v.requests, v.maxWire)
			}
			var first map[string]any
			for _, e := range v.entries {
				if e["attributes"].(map[string]any)["id"] == "id-000001" {
					first = e
				}
			}
			if first["message"] != `line 1 "q" é` || first["timestamp"] != float64(time.Date(2026, 11, 27, 10, 0, 0, 1e6, time.UTC).UnixMilli()) ||
				first["attributes"].(map[string]any)["message"] != nil || first["attributes"].(map[string]any)["instanceId"] != "inst-1" {
				t.Errorf("entry %v", first)
			}
		})
	}
}

func TestVendorConfigDefaults(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		url     string
		problem string
	}{
		{Config{Encoding: "datadog", Datadog: DatadogConfig{APIKey: "k"}}, "https://http-intake.logs.datadoghq.com/api/v2/logs", ""},
		{Config{Encoding: "datadog", Datadog: DatadogConfig{APIKey: "k", Site: "datadoghq.eu"}}, "https://http-intake.logs.datadoghq.eu/api/v2/logs", ""},
		{Config{Encoding: "datadog"}, "https://http-intake.logs.datadoghq.com/api/v2/logs", "datadog.api_key: required"},
		{Config{Encoding: "datadog", Datadog: DatadogConfig{APIKey: "k", Site: "example.com"}}, "", "datadog.site: must be one of"},
		{Config{Encoding: "newrelic", NewRelic: NewRelicConfig{APIKey: "k", Region: "eu"}}, "https://log-api.eu.newrelic.com/log/v1", ""},
		{Config{Encoding: "newrelic", NewRelic: NewRelicConfig{APIKey: "k", LicenseKey: "l"}}, "https://log-api.newrelic.com/log/v1", "newrelic: set exactly one"},
		{Config{URL: "http://c:4318/v1/logs", Encoding: "otlp", OTLP: OTLPConfig{Protocol: "grpc"}}, "http://c:4318/v1/logs", "otlp.protocol: must be protobuf or json"},
		{Config{URL: "http://c/x", Encoding: "ndjson", Datadog: DatadogConfig{APIKey: "k"}}, "http://c/x", "datadog: applies only to encoding datadog"},
	} {
		c, err := config.Parse([]byte(fmt.Sprintf("state_dir: /tmp/logship-test\nsources: [{owner_id: orga_1, application_id: app_1}]\nsinks: [%s]\n", sinkYAML(tc.cfg))), func(string) (string, bool) { return "", false }, sinks.Table{Factory()}.Config())
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.problem == "" && err != nil || tc.problem != "" && !strings.Contains(got, tc.problem) {
			t.Errorf("%+v: problems %q, want %q", tc.cfg, got, tc.problem)
		}
		if err == nil && c.Sinks[0].Settings.(*Config).URL != tc.url {
			t.Errorf("url %q, want %q", c.Sinks[0].Settings.(*Config).URL, tc.url)
		}
		if strings.Contains(got, "dd-") || strings.Contains(got, `"k"`) {
			t.Errorf("a problem quotes a key: %s", got)
		}
	}
}

// sinkYAML writes an http sink entry as flow YAML.
func sinkYAML(c Config) string {
	parts := []string{"type: http", "encoding: " + c.Encoding}
	if c.URL != "" {
		parts = append(parts, "url: "+c.URL)
	}
	if c.Datadog.APIKey != "" || c.Datadog.Site != "" {
		d := []string{}
		if c.Datadog.APIKey != "" {
			d = append(d, "api_key: "+c.Datadog.APIKey.Reveal())
		}
		if c.Datadog.Site != "" {
			d = append(d, "site: "+c.Datadog.Site)
		}
		parts = append(parts, "datadog: {"+strings.Join(d, ", ")+"}")
	}
	if n := c.NewRelic; n.APIKey != "" || n.LicenseKey != "" || n.Region != "" {
		d := []string{}
		if n.APIKey != "" {
			d = append(d, "api_key: "+n.APIKey.Reveal())
		}
		if n.LicenseKey != "" {
			d = append(d, "license_key: "+n.LicenseKey.Reveal())
		}
		if n.Region != "" {
			d = append(d, "region: "+n.Region)
		}
		parts = append(parts, "newrelic: {"+strings.Join(d, ", ")+"}")
	}
	if c.OTLP.Protocol != "" {
		parts = append(parts, "otlp: {protocol: "+c.OTLP.Protocol+"}")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
