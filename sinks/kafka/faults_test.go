package kafka

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFaults injects broker errors into a share of the Produce requests
// while writing, retries like the pipeline does, and checks that every
// event arrives: exactly once when the broker refused the faulted requests
// before writing them, at least once when it wrote them and still answered
// an error (the duplicates kafka-go's non-idempotent producer can make).
func TestFaults(t *testing.T) {
	const n, napps, topic = 20_000, 12, "logs"
	tests := []struct {
		name string
		// inject installs the fault on c; it returns how many requests
		// it faulted.
		inject func(c *kfake.Cluster) func() int
		dups   bool // the fault writes what it fails: duplicates expected
	}{
		{name: "not leader", inject: every(3, kerr.NotLeaderForPartition)},
		{name: "not enough replicas", inject: every(4, kerr.NotEnoughReplicas)},
		{name: "unknown server error (kafka-go does not retry it)", inject: every(3, kerr.UnknownServerError)},
		{name: "connection dropped", inject: func(c *kfake.Cluster) func() int {
			var seen, hits atomic.Int64
			c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				if seen.Add(1)%3 != 0 {
					return nil, nil, false
				}
				hits.Add(1)
				return nil, errors.New("injected: drop the connection"), true
			})
			return func() int { return int(hits.Load()) }
		}},
		{name: "request timed out after the append", inject: every(3, kerr.RequestTimedOut), dups: true},
		{name: "not enough replicas after the append", inject: every(3, kerr.NotEnoughReplicasAfterAppend), dups: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(3, topic))
			s := newSink(t, sinkConfig(c, topic))
			hits := tt.inject(c)
			writes := 0
			for _, b := range makeBatches(n, napps, 500) {
				rej, w := deliver(t.Context(), t, s, b)
				if len(rej) > 0 {
					t.Fatalf("rejected %v", rej)
				}
				writes += w
			}
			if hits() == 0 {
				t.Fatal("no fault was injected")
			}
			recs := consume(t, c, topic)
			ids := countIDs(recs)
			dups := 0
			for i := range n {
				id := testEvent(i, 0).ID
				switch k := ids[id]; {
				case k == 0:
					t.Fatalf("id %s lost", id)
				case k > 1 && !tt.dups:
					t.Fatalf("id %s read %d times", id, k)
				case k > 1:
					dups += k - 1
				}
			}
			if len(ids) != n {
				t.Fatalf("%d distinct ids, want %d", len(ids), n)
			}
			if tt.dups && dups == 0 {
				t.Error("no duplicate: this fault was expected to make some")
			}
			t.Logf("%d faults, %d writes for %d batches, %d duplicates", hits(), writes, (n+499)/500, dups)
		})
	}
}

// every faults one Produce request in k with err.
func every(k int64, err *kerr.Error) func(c *kfake.Cluster) func() int {
	return func(c *kfake.Cluster) func() int {
		var seen atomic.Int64
		h := c.Fault(kfake.Fault{
			Keys:  []kmsg.Key{kmsg.Produce},
			Err:   err,
			Count: -1,
			When:  func(kmsg.Request) bool { return seen.Add(1)%k == 0 },
		})
		return h.Hits
	}
}

// TestLeaderMoves moves partition leaders between brokers while writing:
// kafka-go learns the new leaders from refreshed metadata; nothing is lost
// or duplicated.
func TestLeaderMoves(t *testing.T) {
	const n, napps, topic = 20_000, 12, "logs"
	c := startCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(3, topic))
	s := newSink(t, sinkConfig(c, topic))
	writes := 0
	for i, b := range makeBatches(n, napps, 500) {
		if i%8 == 4 {
			for p := range int32(3) {
				leader := c.LeaderFor(topic, p)
				if err := c.MoveTopicPartition(topic, p, (leader+1)%3); err != nil {
					t.Fatal(err)
				}
			}
		}
		rej, w := deliver(t.Context(), t, s, b)
		if len(rej) > 0 {
			t.Fatalf("rejected %v", rej)
		}
		writes += w
	}
	ids := countIDs(consume(t, c, topic))
	for i := range n {
		if id := testEvent(i, 0).ID; ids[id] != 1 {
			t.Fatalf("id %s read %d times", id, ids[id])
		}
	}
	t.Logf("%d writes for %d batches", writes, (n+499)/500)
}
