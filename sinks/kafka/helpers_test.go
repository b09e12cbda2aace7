package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// startCluster starts an in-process Kafka (kfake) on loopback.
func startCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// sinkConfig is a config as validation leaves it (defaults set).
func sinkConfig(c *kfake.Cluster, topic string) Config {
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topic = c.ListenAddrs(), topic
	cfg.Timeout, cfg.ClientID = config.Duration(5*time.Second), "logship-test"
	return *cfg
}

// newSink returns a started sink with short internal backoffs, closed at
// the end of the test.
func newSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s := newSinkUnstarted(t, cfg)
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

func newSinkUnstarted(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s, err := New(&cfg, Options{Name: "kafka-test", Batch: config.Batch{MaxEvents: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	s.tune.backoffMin = 2 * time.Millisecond
	s.tune.backoffMax = 10 * time.Millisecond
	s.tune.metadataTTL = 300 * time.Millisecond
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testEvent is event number seq of application app (of napps).
func testEvent(seq, app int) event.Event {
	appID := "app_" + strconv.Itoa(app)
	id := fmt.Sprintf("id-%07d", seq)
	date := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(seq) * time.Millisecond).UnixNano()
	raw := fmt.Sprintf(`{"id":%q,"applicationId":%q,"date":"2025-01-02T03:04:05.000Z","zone":"par","message":"line %d of %s","seq":%d}`,
		id, appID, seq, appID, seq)
	return event.Event{Raw: []byte(raw), ID: id, Date: date, Source: "src-" + appID, AppID: appID, Seq: uint64(seq)}
}

// makeBatches returns n events over napps applications, cut in batches of
// size events.
func makeBatches(n, napps, size int) []*event.Batch {
	var bs []*event.Batch
	b := &event.Batch{}
	for i := range n {
		b.Add(testEvent(i, i%napps))
		if b.Len() == size {
			bs = append(bs, b)
			b = &event.Batch{}
		}
	}
	if b.Len() > 0 {
		bs = append(bs, b)
	}
	return bs
}

// deliver writes b the way the pipeline does: it retries the retryable part
// (honouring RetryDelay) until every event is accepted or rejected, and
// returns the rejected events and the number of Writes.
func deliver(ctx context.Context, t testing.TB, s *Sink, b *event.Batch) (rejected []event.Rejection, writes int) {
	t.Helper()
	pending := b
	orig := make([]int, b.Len()) // pending.Events[i] is b.Events[orig[i]]
	for i := range orig {
		orig[i] = i
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		writes++
		err := s.Write(ctx, pending)
		if err == nil {
			return rejected, writes
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %d writes: %v", writes, err)
		}
		if event.IsPermanent(err) {
			t.Fatalf("permanent error: %v", err)
		}
		next := pending
		var pe *event.PartialError
		if errors.As(err, &pe) {
			for _, r := range pe.Rejected {
				rejected = append(rejected, event.Rejection{Index: orig[r.Index], Reason: r.Reason})
			}
			next = &event.Batch{}
			var norig []int
			for _, i := range pe.Retry {
				next.Add(pending.Events[i])
				norig = append(norig, orig[i])
			}
			orig = norig
		}
		if next.Len() == 0 {
			return rejected, writes
		}
		pending = next
		delay := 5 * time.Millisecond
		if d, ok := event.RetryDelay(err); ok {
			delay = d
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(delay):
		}
	}
}

// consume reads every record of topic from the start, up to the end
// offsets the brokers report once the reader starts.
func consume(t testing.TB, c *kfake.Cluster, topic string, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50 * time.Millisecond),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		total += o.Offset
	})
	var recs []*kgo.Record
	for int64(len(recs)) < total {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", len(recs), total, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// header returns the value of the record's header key.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// countIDs counts the records by their id header.
func countIDs(recs []*kgo.Record) map[string]int {
	n := make(map[string]int, len(recs))
	for _, r := range recs {
		n[header(r, HeaderID)]++
	}
	return n
}
