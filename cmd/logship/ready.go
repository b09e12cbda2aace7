package main

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/source"
)

// readiness is what /readyz answers: not ready while starting, draining or
// reloading, while a source has been unable to stream for longer than
// metrics.ready.source_down_after, or while a sink's writes have failed for
// longer than metrics.ready.sink_failing_after. Safe for concurrent use.
type readiness struct {
	mu  sync.Mutex
	ok  bool
	why string
}

// get returns whether logship is ready and, if not, why.
func (r *readiness) get() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok, r.why
}

// set records the state; it reports whether it changed.
func (r *readiness) set(ok bool, why string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := r.ok != ok || r.why != why
	r.ok, r.why = ok, why
	return changed
}

// notReady marks logship not ready for why (starting, draining…).
func (r *readiness) notReady(why string) { r.set(false, why) }

// assess computes readiness at now: every source has streamed once (or is
// complete) and none is down past its bound, no sink fails past its bound.
func assess(now time.Time, b config.Ready, sources []*source.Source, pipe *pipeline.Pipeline, sinks []string) (bool, string) {
	for _, s := range sources {
		if !s.Ready() {
			return false, "starting: source " + s.Name() + " has not streamed yet"
		}
	}
	for _, s := range sources {
		if t := s.DownSince(); !t.IsZero() && now.Sub(t) > b.SourceDownAfter.D() {
			return false, fmt.Sprintf("source %s unable to stream for %s (metrics.ready.source_down_after %s)",
				s.Name(), now.Sub(t).Truncate(time.Second), b.SourceDownAfter)
		}
	}
	for i, name := range sinks {
		if t := pipe.SinkFailingSince(i); !t.IsZero() && now.Sub(t) > b.SinkFailingAfter.D() {
			return false, fmt.Sprintf("sink %s failing for %s (metrics.ready.sink_failing_after %s)",
				name, now.Sub(t).Truncate(time.Second), b.SinkFailingAfter)
		}
	}
	return true, ""
}

// watchReadiness reassesses readiness every period until stop is closed,
// logging each change (at warn when it turns not ready after being ready).
func watchReadiness(r *readiness, period time.Duration, stop <-chan struct{}, log *zap.Logger, assessNow func() (bool, string)) {
	t := time.NewTicker(period)
	defer t.Stop()
	wasReady := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ok, why := assessNow()
			if !r.set(ok, why) {
				continue
			}
			switch {
			case ok:
				log.Info("ready")
				wasReady = true
			case wasReady:
				log.Warn("not ready", zap.String("why", why))
			}
		}
	}
}
