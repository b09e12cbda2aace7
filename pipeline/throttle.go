package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// Throttle keys (config.Throttle.Key).
const (
	keyGlobal = iota
	keyApplication
	keyInstance
)

// maxThrottleKeys bounds the buckets of a per-key throttle. Idle buckets
// (full again) are evicted first; beyond the bound, new keys share one
// overflow bucket.
const maxThrottleKeys = 10_000

// throttle is a token bucket, global or per key: in block mode it makes
// the submitting source wait (backpressure up to the stream); in drop mode
// it drops what exceeds the rate.
type throttle struct {
	limit rate.Limit
	burst int
	drop  bool
	key   int

	global *rate.Limiter // keyGlobal, and the overflow bucket of the others

	// waited is the time the sources spent blocked in block mode, in
	// nanoseconds; wait, when not nil, counts it too, in seconds.
	waited atomic.Int64
	wait   prometheus.Counter

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	sweepAt int       // sweep idle buckets when the map reaches this size
	swept   time.Time // last sweep
}

func newThrottle(c config.Throttle, wait prometheus.Counter) *throttle {
	if c.Rate <= 0 {
		return nil
	}
	// c.Burst is config's (pipeline.throttle.burst, resolved from the rate
	// when left out); New refuses one below 1.
	t := &throttle{limit: rate.Limit(c.Rate), burst: c.Burst, drop: c.Mode == "drop", wait: wait}
	t.global = rate.NewLimiter(t.limit, c.Burst)
	switch c.Key {
	case "application":
		t.key = keyApplication
	case "instance":
		t.key = keyInstance
	}
	if t.key != keyGlobal {
		t.buckets = make(map[string]*rate.Limiter)
		t.sweepAt = 1024
	}
	return t
}

// admit reports whether e may pass, waiting in block mode (an error only
// when ctx ends first).
func (t *throttle) admit(ctx context.Context, e *event.Event) (bool, error) {
	lim := t.global
	switch t.key {
	case keyApplication:
		lim = t.bucket(e.AppID, nil)
	case keyInstance:
		lim = t.bucket("", instanceOf(e.Raw))
	}
	if t.drop {
		return lim.Allow(), nil
	}
	// As rate.Limiter.Wait, counting the time blocked.
	r := lim.Reserve()
	d := r.Delay()
	if d <= 0 {
		return true, nil
	}
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var err error
	select {
	case <-timer.C:
	case <-ctx.Done():
		r.Cancel()
		err = ctx.Err()
	}
	blocked := time.Since(start)
	t.waited.Add(int64(blocked))
	if t.wait != nil {
		t.wait.Add(blocked.Seconds())
	}
	return err == nil, err
}

// instanceOf returns the raw value of the event's instanceId (nil when
// absent): the key of its bucket.
func instanceOf(raw []byte) []byte {
	for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
		if keyIs(m, "instanceId") {
			return m.Value
		}
	}
	return nil
}

// bucket returns the bucket of key s, or of key b when s is empty (b is
// looked up without allocating).
func (t *throttle) bucket(s string, b []byte) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lim *rate.Limiter
	if s != "" {
		lim = t.buckets[s]
	} else {
		lim = t.buckets[string(b)]
	}
	if lim != nil {
		return lim
	}
	if len(t.buckets) >= t.sweepAt {
		// At the bound, sweep at most once a second: a flood of new keys
		// must not make every event scan the map.
		if now := time.Now(); len(t.buckets) < maxThrottleKeys || now.Sub(t.swept) >= time.Second {
			t.sweepLocked(now)
		}
		if len(t.buckets) >= maxThrottleKeys {
			return t.global
		}
	}
	lim = rate.NewLimiter(t.limit, t.burst)
	if s == "" {
		s = string(b)
	}
	t.buckets[s] = lim
	return lim
}

// sweepLocked evicts the buckets that are full: a full bucket behaves as
// a new one, so evicting it changes nothing but memory.
func (t *throttle) sweepLocked(now time.Time) {
	for k, lim := range t.buckets {
		if lim.TokensAt(now) >= float64(t.burst) {
			delete(t.buckets, k)
		}
	}
	t.swept = now
	t.sweepAt = min(max(1024, 2*len(t.buckets)), maxThrottleKeys)
}

// keys returns the number of buckets held (for tests).
func (t *throttle) keys() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
