package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logship/logship/emulator"
)

// TestKafkaEndToEnd backfills two applications through the agent into a
// real-protocol broker (kfake over TCP), with the stream dropped every
// ~1,000 lines, and reads the topic back with an independent client: every
// id once, each application's lines in order within their partition.
func TestKafkaEndToEnd(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(10_000), Token: "test-token", Seed: 9,
		Faults: emulator.Faults{DropEvery: 1000, DropJitter: 200}})
	apps := emu.Apps()
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: kafka\n    brokers: [%s]\n    topic: logs\n    compression: lz4\n", cluster.ListenAddrs()[0]))
	runBackfill(t, yaml, 0)

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("logs"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string][]string{}
	partOf := map[string]int32{}
	total := 0
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for total < 2*10_000 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d records before timeout", total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			app := jsonField(r.Value, "applicationId")
			if string(r.Key) != app {
				t.Fatalf("key %q, want the application id %q", r.Key, app)
			}
			if p, ok := partOf[app]; ok && p != r.Partition {
				t.Fatalf("application %s in partitions %d and %d", app, p, r.Partition)
			}
			partOf[app] = r.Partition
			got[app] = append(got[app], jsonField(r.Value, "id"))
			total++
		})
	}
	checkExactlyOnceInOrder(t, emu, apps, got)
}
