package httpsink

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// benchBatch returns a batch of n events shaped like Clever Cloud
// APPLICATION_LOG lines (about 400 bytes each), with varied request paths,
// durations, user ids and trace ids so that they compress like real logs
// rather than like one line repeated.
func benchBatch(n int) *event.Batch {
	b := &event.Batch{}
	rng := rand.New(rand.NewPCG(7, 11))
	paths := []string{"/api/v1/items", "/api/v1/users", "/login", "/static/app.js", "/healthz", "/api/v2/orders", "/search"}
	codes := []int{200, 200, 200, 201, 204, 304, 404, 500}
	base := time.Date(2024, 3, 9, 22, 15, 0, 0, time.UTC).UnixNano()
	for i := range n {
		id := fmt.Sprintf("6f1c%04x-3a2b-4c5d-8e9f-%012x", i%65536, i)
		date := base + int64(i)*int64(time.Microsecond)
		raw := fmt.Sprintf(`{"id":%q,"date":%q,"applicationId":"app_0f5d5b5e-6c4c-4c62-8d9c-1f1e3f0a9b7c","instanceId":"9c3d7f4e-%04d-4b1a-9a0c-5e6f7a8b9c0d","deploymentId":"deployment_1b2c3d","zone":"par","pid":1234,"severity":"info","service":"bas.service","message":"GET %s/%d %d %dms user=%d trace=%016x \"Mozilla/5.0 (X11; Linux x86_64) rv:%d\""}`,
			id, time.Unix(0, date).UTC().Format(time.RFC3339Nano), i%4,
			paths[rng.IntN(len(paths))], rng.IntN(100000), codes[rng.IntN(len(codes))], rng.IntN(900),
			rng.IntN(5000), rng.Uint64(), 100+rng.IntN(30))
		b.Add(event.Event{Raw: []byte(raw), ID: id, Date: date, Source: "app", AppID: "app_0f5d5b5e-6c4c-4c62-8d9c-1f1e3f0a9b7c"})
	}
	return b
}

// benchmarkWrite writes 1000-event batches to a local receiver that reads
// and discards each body, and reports events/s and body bytes per event.
func benchmarkWrite(b *testing.B, cfg Config, inFlight int) {
	bulkOK := []byte(`{"took":1,"errors":false,"items":[]}`)
	var wire atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		wire.Store(n)
		if cfg.Encoding == "elasticsearch_bulk" {
			_, _ = w.Write(bulkOK)
		}
	}))
	defer srv.Close()
	cfg.URL = srv.URL
	s, err := New(&cfg, Options{InFlight: inFlight})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchBatch(1000)
	b.SetBytes(int64(batch.Bytes))
	b.ReportAllocs()
	b.ResetTimer()
	if inFlight <= 1 {
		for b.Loop() {
			if err := s.Write(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		// RunParallel runs GOMAXPROCS×p goroutines; p = inFlight/GOMAXPROCS, at least 1.
		b.SetParallelism(max(1, inFlight/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Write(b.Context(), batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch.Len())/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(wire.Load())/float64(batch.Len()), "wire-B/event")
}

func BenchmarkWriteNDJSON(b *testing.B) {
	benchmarkWrite(b, Config{}, 1)
}

func BenchmarkWriteNDJSONGzip(b *testing.B) {
	benchmarkWrite(b, Config{Compression: "gzip"}, 1)
}

func BenchmarkWriteNDJSONZstd(b *testing.B) {
	benchmarkWrite(b, Config{Compression: "zstd"}, 1)
}

func BenchmarkWriteNDJSONGzipInFlight4(b *testing.B) {
	benchmarkWrite(b, Config{Compression: "gzip"}, 4)
}

func BenchmarkWriteBulk(b *testing.B) {
	benchmarkWrite(b, Config{Encoding: "elasticsearch_bulk",
		Elasticsearch: ElasticsearchConfig{Index: "logs-{applicationId}-%Y.%m.%d"}}, 1)
}

func BenchmarkWriteLoki(b *testing.B) {
	benchmarkWrite(b, Config{Encoding: "loki", Loki: LokiConfig{
		Labels: map[string]string{"app": "{applicationId}", "level": "{severity}", "instance": "{instanceId}"}}}, 1)
}

func BenchmarkWriteOTLP(b *testing.B) {
	benchmarkWrite(b, Config{Encoding: "otlp", Compression: "gzip"}, 1)
}

func BenchmarkWriteOTLPJSON(b *testing.B) {
	benchmarkWrite(b, Config{Encoding: "otlp", Compression: "gzip", OTLP: OTLPConfig{Protocol: "json"}}, 1)
}

func BenchmarkWriteDatadog(b *testing.B) {
	benchmarkWrite(b, Config{Encoding: "datadog", Compression: "gzip", Datadog: DatadogConfig{APIKey: "k",
		Tags: []string{"application_id:{applicationId}", "instance_id:{instanceId}", "zone:{zone}"}}}, 1)
}

func BenchmarkWriteNewRelic(b *testing.B) {
	benchmarkWrite(b, Config{Encoding: "newrelic", Compression: "gzip", NewRelic: NewRelicConfig{LicenseKey: "k"}}, 1)
}
