// Package file is the sink that appends events to a file as NDJSON, one
// JSON object per line, in stream order.
//
// Durability: with fsync `batch` (the default) a batch is on disk before it
// is acknowledged, so the checkpoint never moves past data a power loss
// could take. A hard crash can still leave the file ahead of the last saved
// checkpoint: at Start, the sink reads the file's tail, cuts a torn last
// line, and remembers the ids it holds, so that the events replayed after
// the restart are not written twice.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// Options are the sink's collaborators.
type Options struct {
	Logger *zap.Logger
	// OpenErrors counts the failed attempts to open the file (at a reopen,
	// and at each write retrying it); nil counts nothing.
	OpenErrors Counter
	// Open is set to 1 while the file is open and 0 while it cannot be
	// opened; nil reports nothing.
	Open Gauge
}

// Counter is the part of a Prometheus counter the sink uses.
type Counter interface{ Inc() }

// Gauge is the part of a Prometheus gauge the sink uses.
type Gauge interface{ Set(float64) }

type nopMetric struct{}

func (nopMetric) Inc()        {}
func (nopMetric) Set(float64) {}

// Sink appends to one file. Write, Reopen and Close are safe for concurrent
// use.
type Sink struct {
	cfg        config.FileSink
	mode       os.FileMode
	log        *zap.Logger
	openErrors Counter
	openGauge  Gauge

	mu      sync.Mutex
	f       *os.File
	started bool // Start succeeded and Close was not called
	// openFailing is set while the file cannot be opened (after a failed
	// reopen): each Write tries again.
	openFailing bool
	buf         []byte
	dirty       bool // written since the last fsync (interval mode)
	// cutTo, when >= 0, is the size the file must be cut back to before
	// anything else is written: a failed write left part of a batch that
	// could not be truncated at once.
	cutTo int64
	// truncate cuts f to size (f.Truncate; a seam for the one fault a test
	// cannot cause for real: a failing ftruncate).
	truncate func(f *os.File, size int64) error

	// Reconciliation after a crash: ids found in the file's tail, and the
	// sources whose replay has gone past them.
	written map[string]struct{}
	passed  map[string]bool
	skipped int
	// What the current Write changed in written and passed, undone if the
	// write fails.
	undoIDs, undoSources []string

	stop chan struct{}
	done chan struct{}
}

// New returns a file sink; it does no I/O (see Start).
func New(cfg config.FileSink, opts Options) (*Sink, error) {
	if cfg.Path == "" {
		return nil, errors.New("file: path required")
	}
	mode := os.FileMode(0o640)
	if cfg.Mode != "" {
		m, err := strconv.ParseUint(cfg.Mode, 8, 32)
		if err != nil || m > 0o777 {
			return nil, fmt.Errorf("file: mode %q is not octal permission bits", cfg.Mode)
		}
		mode = os.FileMode(m)
	}
	switch cfg.Fsync {
	case "":
		cfg.Fsync = "batch"
	case "batch", "interval", "never":
	default:
		return nil, fmt.Errorf("file: fsync must be batch, interval or never, not %q", cfg.Fsync)
	}
	if cfg.FsyncInterval <= 0 {
		cfg.FsyncInterval = time.Second
	}
	if cfg.ReconcileBytes <= 0 {
		cfg.ReconcileBytes = 64 << 20
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Sink{cfg: cfg, mode: mode, log: log, passed: map[string]bool{}, cutTo: -1,
		truncate: (*os.File).Truncate, openErrors: opts.OpenErrors, openGauge: opts.Open}
	if s.openErrors == nil {
		s.openErrors = nopMetric{}
	}
	if s.openGauge == nil {
		s.openGauge = nopMetric{}
	}
	return s, nil
}

// Start creates the parent directories, reconciles the file's tail and
// opens it for appending.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.cfg.Path), 0o750); err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	if err := s.reconcile(); err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	if err := s.openLocked(); err != nil {
		return err
	}
	s.started = true
	if s.cfg.Fsync == "interval" {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.syncLoop()
	}
	return nil
}

// openLocked opens the file for appending, creating it (and, after a
// rotation that took the directory too, its parents).
func (s *Sink) openLocked() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, s.mode)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(s.cfg.Path), 0o750); err == nil {
			f, err = os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, s.mode)
		}
	}
	if err != nil {
		s.openErrors.Inc()
		s.openGauge.Set(0)
		return fmt.Errorf("file %s: open: %w", s.cfg.Path, err)
	}
	s.f = f
	s.openGauge.Set(1)
	return nil
}

// reopenLocked retries the open that a reopen could not do; its error is
// retryable, and said once per outage at error level.
func (s *Sink) reopenLocked() error {
	if !s.started {
		return errors.New("file: not started")
	}
	if err := s.openLocked(); err != nil {
		if !s.openFailing {
			s.openFailing = true
			s.log.Error("cannot open the file; writes wait and retry the open with the sink's backoff",
				zap.String("path", s.cfg.Path), zap.Error(err))
		}
		return err
	}
	if s.openFailing {
		s.openFailing = false
		s.log.Info("file open again; writes resume", zap.String("path", s.cfg.Path))
	}
	return nil
}

// reconcile cuts a torn last line and collects the ids of the tail.
func (s *Sink) reconcile() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	start := max(0, size-s.cfg.ReconcileBytes)
	tail := make([]byte, size-start)
	if _, err := f.ReadAt(tail, start); err != nil && err != io.EOF {
		return err
	}
	if tail[len(tail)-1] != '\n' {
		cut := bytes.LastIndexByte(tail, '\n') + 1 // 0 when no newline at all
		if cut == 0 && start > 0 {
			return fmt.Errorf("last line longer than reconcile_bytes (%d): cannot find where it starts", s.cfg.ReconcileBytes)
		}
		if err := f.Truncate(start + int64(cut)); err != nil {
			return err
		}
		s.log.Warn("cut a torn last line left by a crash", zap.String("path", s.cfg.Path), zap.Int("bytes", len(tail)-cut))
		tail = tail[:cut]
	}
	if start > 0 { // the first line is partial
		if i := bytes.IndexByte(tail, '\n'); i >= 0 {
			tail = tail[i+1:]
		}
	}
	s.written = make(map[string]struct{})
	for len(tail) > 0 {
		line := tail
		if i := bytes.IndexByte(tail, '\n'); i >= 0 {
			line, tail = tail[:i], tail[i+1:]
		} else {
			tail = nil
		}
		for m, i, ok := event.NextMember(line, 0); ok; m, i, ok = event.NextMember(line, i) {
			if string(m.Key) == `"id"` {
				if id, ok := m.StringValue(); ok {
					s.written[id] = struct{}{}
				}
				break
			}
		}
	}
	return nil
}

// Write appends the batch's events, skipping those the file already holds
// from before a crash, and fsyncs per the configuration.
func (s *Sink) Write(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if err := s.reopenLocked(); err != nil {
			return err
		}
	}
	buf := s.buf[:0]
	s.undoIDs, s.undoSources = s.undoIDs[:0], s.undoSources[:0]
	for i := range b.Events {
		e := &b.Events[i]
		if s.written != nil && !s.passed[e.Source] {
			if _, dup := s.written[e.ID]; dup {
				delete(s.written, e.ID)
				s.undoIDs = append(s.undoIDs, e.ID)
				continue
			}
			s.passed[e.Source] = true
			s.undoSources = append(s.undoSources, e.Source)
		}
		buf = append(buf, e.Raw...)
		buf = append(buf, '\n')
	}
	s.buf = buf
	if err := s.appendLocked(buf); err != nil {
		// Nothing of the batch is in the file: the retry must skip the
		// same events again.
		for _, id := range s.undoIDs {
			s.written[id] = struct{}{}
		}
		for _, src := range s.undoSources {
			delete(s.passed, src)
		}
		return err
	}
	s.skipped += len(s.undoIDs)
	for _, src := range s.undoSources {
		s.log.Info("replay after restart reconciled", zap.String("source", src), zap.Int("skipped_total", s.skipped))
	}
	return nil
}

// appendLocked appends buf (whole lines) and fsyncs per the configuration.
// On error the file is as it was before (see rollbackLocked).
func (s *Sink) appendLocked(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if err := s.cutBackLocked(); err != nil {
		return err
	}
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	before := st.Size()
	if _, err := s.f.Write(buf); err != nil {
		return s.rollbackLocked(before, err)
	}
	switch s.cfg.Fsync {
	case "batch":
		if err := s.f.Sync(); err != nil {
			return s.rollbackLocked(before, fmt.Errorf("fsync: %w", err))
		}
	case "interval":
		s.dirty = true
	}
	return nil
}

// rollbackLocked handles a failed write of a batch: the file goes back to
// its size before the batch (a short write, as on a full disk, leaves part
// of it), so that the retry writes whole lines after whole lines. If the
// file cannot be cut, it is said loudly and nothing more is written until
// it can (cutBackLocked). The returned error is retryable.
func (s *Sink) rollbackLocked(before int64, werr error) error {
	werr = fmt.Errorf("file %s: %w", s.cfg.Path, werr)
	if err := s.truncate(s.f, before); err != nil {
		s.cutTo = before
		s.log.Error("a failed write left part of a batch in the file and it cannot be cut; no more writes until it can",
			zap.String("path", s.cfg.Path), zap.Int64("size_before", before), zap.Error(err))
		return errors.Join(werr, fmt.Errorf("cut back to %d bytes: %w", before, err))
	}
	return werr
}

// cutBackLocked cuts the part of a failed batch that rollbackLocked could
// not; until it succeeds, every write fails (retryable).
func (s *Sink) cutBackLocked() error {
	if s.cutTo < 0 {
		return nil
	}
	if err := s.truncate(s.f, s.cutTo); err != nil {
		return fmt.Errorf("file %s: a failed write left a partial batch that cannot be cut yet (to %d bytes): %w", s.cfg.Path, s.cutTo, err)
	}
	s.log.Warn("cut the partial batch left by a failed write", zap.String("path", s.cfg.Path), zap.Int64("size", s.cutTo))
	s.cutTo = -1
	return nil
}

func (s *Sink) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if s.dirty && s.f != nil {
				if err := s.f.Sync(); err != nil {
					s.log.Error("fsync failed", zap.String("path", s.cfg.Path), zap.Error(err))
				} else {
					s.dirty = false
				}
			}
			s.mu.Unlock()
		}
	}
}

// Reopen closes and reopens the file by its path, for logrotate: after a
// rename, writes go to a new file at the configured path. If the new file
// cannot be opened, Reopen returns the error and the sink stays without a
// file: each Write tries the open again and fails with a retryable error
// until it succeeds (counted in Options.OpenErrors, Options.Open at 0).
func (s *Sink) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	if s.f != nil {
		if err := s.cutBackLocked(); err != nil {
			s.log.Error("rotating a file that ends with the partial batch of a failed write", zap.Error(err))
			s.cutTo = -1
		}
		if err := s.f.Sync(); err != nil {
			s.log.Warn("fsync before reopen failed", zap.Error(err))
		}
		if err := s.f.Close(); err != nil {
			s.log.Warn("close before reopen failed", zap.Error(err))
		}
		s.f = nil
	}
	if err := s.openLocked(); err != nil {
		s.openFailing = true
		return fmt.Errorf("%w (writes retry the open)", err)
	}
	s.openFailing = false
	return nil
}

// Close syncs and closes the file.
func (s *Sink) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = false
	if s.f == nil {
		return nil
	}
	err := errors.Join(s.f.Sync(), s.f.Close())
	s.f = nil
	if err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	return nil
}
