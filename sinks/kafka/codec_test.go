package kafka

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// TestCompression produces with each codec and checks, with franz-go, that
// the record batches carry it and decode to the events.
func TestCompression(t *testing.T) {
	const n, topic = 3000, "logs"
	for _, tt := range []struct {
		name string
		code uint8 // the record batch's compression attribute
	}{{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}} {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, kfake.SeedTopics(2, topic))
			cfg := sinkConfig(c, topic)
			cfg.Compression = tt.name
			s := newSink(t, cfg)
			for _, b := range makeBatches(n, 5, 1000) {
				if err := s.Write(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			recs := consume(t, c, topic)
			ids := countIDs(recs)
			for i := range n {
				if e := testEvent(i, i%5); ids[e.ID] != 1 {
					t.Fatalf("id %s read %d times", e.ID, ids[e.ID])
				}
			}
			for _, r := range recs {
				if got := r.Attrs.CompressionType(); got != tt.code {
					t.Fatalf("compression attribute %d, want %d", got, tt.code)
				}
			}
		})
	}
}

// TestSASL logs in with each mechanism against kfake, and checks that a
// wrong password stops Start with a clear message that does not hold it.
func TestSASL(t *testing.T) {
	const topic, user, pass = "logs", "shipper", "s3cret-pass"
	for _, tt := range []struct {
		mechanism string
		reader    kgo.Opt
	}{
		{"PLAIN", kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism())},
		{"SCRAM-SHA-256", kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())},
		{"SCRAM-SHA-512", kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())},
	} {
		t.Run(tt.mechanism, func(t *testing.T) {
			c := startCluster(t, kfake.EnableSASL(), kfake.Superuser(tt.mechanism, user, pass), kfake.SeedTopics(1, topic))
			cfg := sinkConfig(c, topic)
			cfg.SASL = SASLConfig{Mechanism: tt.mechanism, Username: user, Password: pass}
			s := newSink(t, cfg)
			b := makeBatches(100, 3, 100)[0]
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			if recs := consume(t, c, topic, tt.reader); len(recs) != 100 {
				t.Fatalf("read %d records, want 100", len(recs))
			}

			bad := cfg
			bad.SASL.Password = "wrong-" + pass
			err := newSinkUnstarted(t, bad).Start(t.Context())
			if err == nil {
				t.Fatal("start with a wrong password: no error")
			}
			if msg := err.Error(); !strings.Contains(msg, "sasl login refused") || !strings.Contains(msg, user) || strings.Contains(msg, pass) {
				t.Fatalf("start with a wrong password: %v", err)
			}
			t.Logf("start with a wrong password: %v", err)
		})
	}
}

// TestAcks produces with each acks setting and checks what the Produce
// requests ask for; with none, the write returns before the broker has the
// messages, so the reader waits for them.
func TestAcks(t *testing.T) {
	for _, tt := range []struct {
		acks string
		want int16
	}{{"all", -1}, {"leader", 1}, {"none", 0}} {
		acks := tt.acks
		t.Run("acks="+acks, func(t *testing.T) {
			c := startCluster(t, kfake.SeedTopics(2, "logs"))
			var seen atomic.Int32
			seen.Store(99)
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				seen.Store(int32(req.(*kmsg.ProduceRequest).Acks))
				return nil, nil, false
			})
			cfg := sinkConfig(c, "logs")
			cfg.Acks = acks
			s := newSink(t, cfg)
			if err := s.Write(t.Context(), makeBatches(100, 3, 100)[0]); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				recs := consume(t, c, "logs")
				if len(recs) == 100 {
					break
				}
				if acks != "none" || time.Now().After(deadline) {
					t.Fatalf("read %d records, want 100", len(recs))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := seen.Load(); got != int32(tt.want) {
				t.Fatalf("produce requests ask for acks %d, want %d", got, tt.want)
			}
		})
	}
}
