package kafka

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestWriteReadBack100k produces 100,000 events of 40 applications into 6
// partitions and reads them back with franz-go: every id exactly once, each
// application in one partition and in order, values, keys, headers and
// timestamps as sent.
func TestWriteReadBack100k(t *testing.T) {
	const n, napps, topic = 100_000, 40, "logs"
	c := startCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(6, topic))
	s := newSink(t, sinkConfig(c, topic))
	batches := makeBatches(n, napps, 1000)
	start := time.Now()
	for _, b := range batches {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	t.Logf("produced %d events in %v", n, time.Since(start))

	recs := consume(t, c, topic)
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	ids := countIDs(recs)
	partOf := map[string]int32{}
	lastSeq := map[string]uint64{}
	for i := range n {
		e := testEvent(i, i%napps)
		if ids[e.ID] != 1 {
			t.Fatalf("id %s read %d times", e.ID, ids[e.ID])
		}
	}
	for _, r := range recs {
		app := string(r.Key)
		seq := uint64(0)
		for _, c := range bytes.SplitN(bytes.SplitN(r.Value, []byte(`"seq":`), 2)[1], []byte("}"), 2)[0] {
			seq = seq*10 + uint64(c-'0')
		}
		want := testEvent(int(seq), int(seq)%napps)
		if !bytes.Equal(r.Value, want.Raw) {
			t.Fatalf("value %s, want %s", r.Value, want.Raw)
		}
		if app != want.AppID || header(r, HeaderApplicationID) != want.AppID || header(r, HeaderSource) != want.Source {
			t.Fatalf("key %q headers %v, want app %s source %s", app, r.Headers, want.AppID, want.Source)
		}
		if r.Timestamp.UnixMilli() != want.Date/1e6 {
			t.Fatalf("timestamp %v, want %v", r.Timestamp, time.Unix(0, want.Date))
		}
		if p, ok := partOf[app]; ok && p != r.Partition {
			t.Fatalf("%s in partitions %d and %d", app, p, r.Partition)
		}
		partOf[app] = r.Partition
		if last, ok := lastSeq[app]; ok && seq <= last {
			t.Fatalf("%s: seq %d after %d", app, seq, last)
		}
		lastSeq[app] = seq
	}
	used := map[int32]bool{}
	for _, p := range partOf {
		used[p] = true
	}
	if len(used) < 3 {
		t.Errorf("40 applications used only %d of 6 partitions", len(used))
	}
}
