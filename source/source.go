// Package source follows one Clever Cloud application's log stream (APIv4,
// Server-Sent Events): it builds the request and its authorization, reads
// the frames, reconnects on network errors, silence, server errors and
// closes, resumes with Last-Event-ID and a look-back `since`, and drops the
// lines a server replays. It hands each new line to an Output and never
// writes a checkpoint itself: it starts from the delivered Position it is
// given and keeps its own read position in memory.
package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/internal/backoff"
	"github.com/logship/logship/metrics"
)

// Output receives a source's lines. Both calls may block (backpressure);
// they return an error only when ctx is done or the pipeline is closed.
// The event's Raw is the Output's to keep (read-only), unless the Output
// is a LineCopier.
type Output interface {
	// Submit hands over one new log line, in stream order.
	Submit(ctx context.Context, e event.Event) error
	// DeadLetter hands over a line that must not reach the sinks (too
	// large), to be kept in the dead-letter file with reason.
	DeadLetter(ctx context.Context, e event.Event, reason string) error
}

// LineCopier is an Output that copies the line (Event.Raw) it is handed
// in Submit before Submit returns, and keeps no reference to it: the
// source then hands it a slice of its read buffer instead of a copy of its
// own (one copy of each line fewer). DeadLetter always gets a copy.
type LineCopier interface {
	Output
	CopiesLines()
}

// Options are a source's collaborators.
type Options struct {
	// SourceIndex is the source's index in the pipeline, copied into every event.
	SourceIndex int
	// Start is the delivered position to resume from (zero: none).
	Start event.Position
	// Client makes the requests; nil means a client with sane timeouts.
	Client *http.Client
	// Auth authorizes requests; nil sends none.
	Auth      Authorizer
	Output    Output
	Logger    *zap.Logger
	Metrics   *metrics.Metrics
	UserAgent string
	// MinRetry and MaxRetry bound the reconnect backoff (package
	// internal/backoff; defaults: config.DefaultRetry's, 500ms and 30s).
	MinRetry, MaxRetry time.Duration
	// NotFoundRetry is the delay after a 404 (default 15s).
	NotFoundRetry time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Source follows one application's stream. Create it with New; Run it once.
type Source struct {
	api  string
	cfg  config.Source
	opts Options
	log  *zap.Logger
	m    *metrics.Metrics
	// received and replayed are this source's per-line counters, resolved
	// once: no label lookup per line.
	received, replayed, receivedBytes prometheus.Counter

	// Read position: what this process has emitted, for reconnects.
	win *event.Window
	// emitted counts lines handed to the Output, for `limit`, from the
	// lines the start position says were delivered before.
	emitted int
	// since is the `since` asked while nothing was read yet.
	since time.Time
	// fields are the `field` parameters (RequestFields).
	fields []string
	// connected is set after the first accepted stream.
	connected bool
	// ready is set once a stream was accepted or the source is complete.
	ready atomic.Bool
	// downSince is when the source last stopped streaming, in Unix
	// nanoseconds: 0 while a stream is open or once the source is complete.
	downSince atomic.Int64
	// failed counts the attempts that opened no stream since the last one
	// that did: a stream opened after some is a recovery, logged at info.
	failed       int
	malformedLog *logLimiter
	// arena holds the lines handed to the Output (their Raw): one
	// allocation per chunk of lines, not one per line. copier is set
	// when the Output copies the lines itself (a LineCopier).
	arena  event.Arena
	copier bool
}

// FatalError is a refusal that reconnecting cannot fix (400, 401 or 403 on
// the first connection). Its text names the source and never holds a secret.
type FatalError struct {
	Source string
	Status int
	// APIError is the API's error text; SozuID the response's Sozu-Id.
	APIError, SozuID string
}

func (e *FatalError) Error() string {
	msg := fmt.Sprintf("source %s: the API refused the stream: %d %s", e.Source, e.Status, http.StatusText(e.Status))
	if e.APIError != "" {
		msg += ": " + e.APIError
	}
	if e.SozuID != "" {
		msg += " (Sozu-Id " + e.SozuID + ")"
	}
	return msg
}

// New returns a source for cfg, as package config leaves it (defaults set:
// New sets none of its own); it does no I/O. api is the API base URL.
func New(api string, cfg config.Source, opts Options) *Source {
	if opts.Client == nil {
		opts.Client = defaultClient()
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	// The reconnect policy has no key of its own: it is the sinks'
	// default retry policy (one backoff, one set of defaults).
	if opts.MinRetry <= 0 {
		opts.MinRetry = config.DefaultRetry.InitialBackoff.D()
	}
	if opts.MaxRetry <= 0 {
		opts.MaxRetry = config.DefaultRetry.MaxBackoff.D()
	}
	if opts.NotFoundRetry <= 0 {
		opts.NotFoundRetry = 15 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Source{
		api:  strings.TrimRight(api, "/"),
		cfg:  cfg,
		opts: opts,
		log:  opts.Logger.With(zap.String("source", cfg.Name)),
		m:    opts.Metrics,
		win:  event.NewWindow(cfg.Lookback.D()),
	}
	s.fields, _ = RequestFields(cfg)
	s.received = s.m.Received.WithLabelValues(cfg.Name)
	s.receivedBytes = s.m.ReceivedBytes.WithLabelValues(cfg.Name)
	s.replayed = s.m.Dropped.WithLabelValues("replayed")
	s.malformedLog = newLogLimiter(10 * time.Second)
	_, s.copier = opts.Output.(LineCopier)
	s.win.SetClock(opts.Now)
	s.win.Restore(opts.Start)
	s.emitted = int(opts.Start.Delivered)
	return s
}

// Ready reports whether the source has had a stream accepted or is
// complete. It is safe for concurrent use.
func (s *Source) Ready() bool { return s.ready.Load() }

// DownSince returns when the source last stopped streaming (or started
// trying to): the zero time while a stream is open, once the source is
// complete, and before Run. It is safe for concurrent use.
func (s *Source) DownSince() time.Time {
	if ns := s.downSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Name returns the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// Run follows the stream until it is complete (END_OF_STREAM or `limit`
// reached: nil), ctx is done (nil), or the API refuses the first connection
// for good (*FatalError).
func (s *Source) Run(ctx context.Context) error {
	if note := FieldsNote(s.cfg); note != "" {
		s.log.Info("fields: " + note)
	}
	s.since = s.cfg.SinceTime
	if s.since.IsZero() {
		s.since = s.opts.Now()
	}
	bo := backoff.New(s.opts.MinRetry, s.opts.MaxRetry)

	s.downSince.Store(s.opts.Now().UnixNano())
	defer s.downSince.Store(0)
	for {
		res := s.attempt(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if res.complete {
			s.downSince.Store(0)
			s.ready.Store(true)
			s.log.Info("stream complete", zap.String("ended_by", res.endedBy), zap.Int("lines", s.emitted))
			return nil
		}
		var fatal *FatalError
		if errors.As(res.err, &fatal) && !s.connected {
			return fatal
		}
		if res.opened {
			s.downSince.Store(s.opts.Now().UnixNano())
		} else {
			s.failed++
		}
		if res.lines > 0 {
			bo.Reset()
		}
		delay := bo.Next()
		switch {
		case res.retryAfter > 0:
			delay = res.retryAfter
		case res.status == http.StatusNotFound:
			delay = s.opts.NotFoundRetry
		case fatal != nil:
			delay = s.opts.MaxRetry
		}
		s.m.Reconnects.WithLabelValues(s.cfg.Name, res.reason).Inc()
		fields := []zap.Field{zap.String("reason", res.reason), zap.Duration("delay", delay), zap.Int("lines", res.lines)}
		if res.err != nil {
			fields = append(fields, zap.Error(res.err))
		}
		if res.status == http.StatusNotFound {
			s.log.Warn("application has no logs yet (404); retrying", fields...)
		} else {
			s.log.Info("reconnecting", fields...)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
