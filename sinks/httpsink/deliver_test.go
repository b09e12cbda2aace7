package httpsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// deliverer mimics what the pipeline does with the sink's errors, so that
// tests can check whole deliveries: it writes a batch until accepted,
// waiting a full-jitter backoff (or the Retry-After the error carries)
// between attempts, narrows the batch to PartialError.Retry, and appends
// permanent refusals to a dead-letter file. After maxElapsed (0: never) a
// still-failing batch is dead-lettered.
type deliverer struct {
	sink       *Sink
	initial    time.Duration
	maxBackoff time.Duration
	maxElapsed time.Duration
	deadLetter string // file path

	mu       sync.Mutex
	attempts int
	waits    []time.Duration // the delay before each retry
}

// dead is one line of the dead-letter file.
type dead struct {
	Reason string          `json:"reason"`
	ID     string          `json:"id"`
	Event  json.RawMessage `json:"event"`
}

func (d *deliverer) deliver(ctx context.Context, b *event.Batch) error {
	start := time.Now()
	bound := d.initial
	for {
		d.mu.Lock()
		d.attempts++
		d.mu.Unlock()
		err := d.sink.Write(ctx, b)
		if err == nil {
			return nil
		}
		var pe *event.PartialError
		switch {
		case errors.As(err, &pe):
			var rej []event.Event
			for _, r := range pe.Rejected {
				rej = append(rej, b.Events[r.Index])
				if err := d.dead(rej[len(rej)-1:], r.Reason); err != nil {
					return err
				}
			}
			next := &event.Batch{}
			for _, i := range pe.Retry {
				next.Add(b.Events[i])
			}
			if next.Len() == 0 {
				return nil
			}
			b = next
		case event.IsPermanent(err):
			return d.dead(b.Events, err.Error())
		}
		if d.maxElapsed > 0 && time.Since(start) > d.maxElapsed {
			return d.dead(b.Events, "retries exhausted: "+err.Error())
		}
		wait := time.Duration(rand.Int64N(int64(bound) + 1))
		if ra, ok := event.RetryDelay(err); ok {
			wait = ra
		}
		bound = min(2*bound, d.maxBackoff)
		d.mu.Lock()
		d.waits = append(d.waits, wait)
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (d *deliverer) dead(evs []event.Event, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.deadLetter, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, e := range evs {
		if err := enc.Encode(dead{Reason: reason, ID: e.ID, Event: e.Raw}); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// readDead returns the dead-letter file's lines (none if it does not exist).
func readDead(t *testing.T, path string) []dead {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []dead
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var d dead
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("dead-letter file: %v", err)
		}
		out = append(out, d)
	}
	return out
}
