package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/logship/logship/event"
)

// BenchmarkWrite measures Writes of 1000-event batches (about 470 bytes an
// event, 40 applications) into kfake over loopback, acks all. kfake runs
// in the same process and discards what it receives (BlackholeProduce), so
// the figures include the broker's own CPU but not its storage.
//
//	go test -run x -bench . -benchtime 2s ./sinks/kafka/
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		partitions  int32
		compression string
	}{
		{1, "none"}, {6, "none"}, {6, "gzip"}, {6, "snappy"}, {6, "lz4"}, {6, "zstd"},
	} {
		b.Run(fmt.Sprintf("partitions=%d/compression=%s", bc.partitions, bc.compression), func(b *testing.B) {
			c := startCluster(b, kfake.SeedTopics(bc.partitions, "logs"), kfake.BlackholeProduce())
			cfg := sinkConfig(c, "logs")
			cfg.Compression = bc.compression
			s := newSink(b, cfg)
			batch := benchBatch(1000, 40)
			b.SetBytes(int64(batch.Bytes))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch.Len())/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// benchBatch is n log lines shaped like the API's, over napps applications.
func benchBatch(n, napps int) *event.Batch {
	b := &event.Batch{}
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		app := fmt.Sprintf("app_%08d-0000-4000-8000-%012d", i%napps, i%napps)
		date := start.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprintf("%016x-%04d", date.UnixNano(), i)
		raw := fmt.Sprintf(`{"id":%q,"applicationId":%q,"commitId":"4b825dc642cb6eb9a060e54bf8d69288fbee4904","deploymentId":"deployment_%08d","instanceId":"%08d-aaaa-4bbb-8ccc-dddddddddddd","date":%q,"zone":"par","pid":%d,"facility":"user","severity":"info","priority":14,"version":"1","service":"bas.service","message":"GET /api/v1/items/%d 200 in %dms - user agent Mozilla/5.0 request id %x"}`,
			id, app, i%napps, i%napps, date.Format(time.RFC3339Nano), 1000+i%7, i, i%97, i*7919)
		b.Add(event.Event{Raw: []byte(raw), ID: id, Date: date.UnixNano(), Source: app, AppID: app, Seq: uint64(i + 1)})
	}
	return b
}
