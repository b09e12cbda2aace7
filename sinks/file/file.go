// Package file is the sink that appends events to a file as NDJSON, one
// JSON object per line, in stream order.
//
// Durability: with fsync `batch` (the default) a batch is on disk before it
// is acknowledged, so the checkpoint never moves past data a power loss
// could take. A failed write leaves the file as it was before the batch.
// A hard crash can still leave the file ahead of the last saved
// checkpoint: at Start, the sink cuts a torn last line and reads its
// journal (see journal.go) for the (source, id) of the events the file
// (or a file rotated away) already holds, so that the events replayed
// after the restart are not written twice, whatever the lines carry.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

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
	cfg        Config
	mode       os.FileMode
	log        *zap.Logger
	openErrors Counter
	openGauge  Gauge

	mu      sync.Mutex
	data    appendFile // the data file; f nil while it cannot be opened
	dataID  fileID
	journal appendFile
	// covered is the data bytes the journal's current generation covers.
	covered int64
	started bool // Start succeeded and Close was not called
	// openFailing is set while the file cannot be opened (after a failed
	// reopen): each Write tries again.
	openFailing bool
	buf, jbuf   []byte
	dirty       bool // written since the last fsync (interval mode)
	// truncate cuts f to size (f.Truncate; a seam for the one fault a test
	// cannot cause for real: a failing ftruncate).
	truncate func(f *os.File, size int64) error

	// Reconciliation after a crash: the (source, id) of the events the
	// files hold (writtenKey; with source "" when read from a file's lines
	// for want of a journal), and the sources whose replay has gone past
	// them.
	written map[string]struct{}
	passed  map[string]bool
	skipped int
	// What the current Write changed in written and passed, undone if the
	// write fails.
	undoKeys, undoSources []string

	stop chan struct{}
	done chan struct{}
}

// appendFile is a file appended to batch by batch.
type appendFile struct {
	f *os.File
	// cutTo, when >= 0, is the size f must be cut back to before anything
	// else is written: a failed write left part of a batch that could not
	// be cut at once.
	cutTo int64
}

// New returns a file sink for cfg (see Config.Validate); it does no I/O
// (see Start).
func New(cfg *Config, opts Options) (*Sink, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("file: %w", ps)
	}
	mode, _ := cfg.FileMode()
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Sink{cfg: *cfg, mode: mode, log: log, passed: map[string]bool{},
		data: appendFile{cutTo: -1}, journal: appendFile{cutTo: -1},
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
// opens it and its journal for appending.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.cfg.Path), 0o750); err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	if err := s.reconcile(); err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	if s.cfg.ReconcileBytes > 0 {
		jpath, _ := journalPaths(s.cfg.Path)
		j, err := os.OpenFile(jpath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, s.mode)
		if err != nil {
			s.log.Warn("cannot keep the reconciliation journal next to the file; after a crash the replay is reconciled by the lines' id only",
				zap.String("path", s.cfg.Path), zap.Error(err))
		} else {
			s.journal.f = j
		}
	}
	if err := s.openLocked(); err != nil {
		if s.journal.f != nil {
			s.journal.f.Close()
			s.journal.f = nil
		}
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
	var st os.FileInfo
	if err == nil {
		if st, err = f.Stat(); err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.openErrors.Inc()
		s.openGauge.Set(0)
		return fmt.Errorf("file %s: open: %w", s.cfg.Path, err)
	}
	s.data.f, s.dataID = f, idOf(st)
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

// reconcile cuts a torn last line of the data file and of the journal,
// and collects the (source, id) of the events written last: from the
// journal, or, for a file written before logship kept one, from the "id"
// of the lines of the file's tail. With reconcile_bytes 0 it only cuts a
// torn last line.
func (s *Sink) reconcile() error {
	if s.cfg.ReconcileBytes == 0 {
		_, _, _, err := s.cutTornLine()
		return err
	}
	s.written = make(map[string]struct{})
	tail, id, size, err := s.cutTornLine()
	if err != nil {
		return err
	}
	jpath, _ := journalPaths(s.cfg.Path)
	err = cutTornRecord(jpath)
	var covered int64
	found := false
	if err == nil {
		covered, found, err = loadJournal(s.cfg.Path, id, size, int64(s.cfg.ReconcileBytes), s.written)
	}
	if err != nil {
		// Reconcile by the lines rather than refuse to start.
		s.log.Warn("cannot read the reconciliation journal; reconciling by the lines' id only",
			zap.String("path", s.cfg.Path), zap.Error(err))
		clear(s.written)
		found = false
	}
	s.covered = covered
	if found {
		return nil
	}
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
					s.written[writtenKey("", id)] = struct{}{}
				}
				break
			}
		}
	}
	return nil
}

// cutTornLine cuts a torn last line of the data file (a crash in the
// middle of a write) and returns the file's identity, its size after the
// cut and its last reconcile_bytes of whole lines (read only when there is
// no journal).
func (s *Sink) cutTornLine() (tail []byte, id fileID, size int64, err error) {
	f, err := os.OpenFile(s.cfg.Path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fileID{}, 0, nil
	}
	if err != nil {
		return nil, fileID{}, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fileID{}, 0, err
	}
	id, size = idOf(st), st.Size()
	if size == 0 {
		return nil, id, 0, nil
	}
	// At least 1 MiB is read to find where a torn last line starts.
	window := max(int64(s.cfg.ReconcileBytes), 1<<20)
	start := max(0, size-window)
	tail = make([]byte, size-start)
	if _, err := f.ReadAt(tail, start); err != nil && err != io.EOF {
		return nil, id, 0, err
	}
	if tail[len(tail)-1] != '\n' {
		cut := bytes.LastIndexByte(tail, '\n') + 1 // 0 when no newline at all
		if cut == 0 && start > 0 {
			return nil, id, 0, fmt.Errorf("torn last line longer than %d bytes: cannot find where it starts", window)
		}
		if err := f.Truncate(start + int64(cut)); err != nil {
			return nil, id, 0, err
		}
		s.log.Warn("cut a torn last line left by a crash", zap.String("path", s.cfg.Path), zap.Int("bytes", len(tail)-cut))
		tail = tail[:cut]
		size = start + int64(cut)
	}
	if keep := int64(s.cfg.ReconcileBytes); int64(len(tail)) > keep {
		tail, start = tail[int64(len(tail))-keep:], size-keep
	}
	if start > 0 { // the first line is partial
		if i := bytes.IndexByte(tail, '\n'); i >= 0 {
			tail = tail[i+1:]
		} else {
			tail = nil
		}
	}
	return tail, id, size, nil
}

// skip reports whether e is one the files already hold (reconciliation
// after a crash), and records what it changed for undo.
func (s *Sink) skip(e *event.Event) bool {
	if len(s.written) == 0 || s.passed[e.Source] {
		return false
	}
	for _, k := range [2]string{writtenKey(e.Source, e.ID), writtenKey("", e.ID)} {
		if _, dup := s.written[k]; dup {
			delete(s.written, k)
			s.undoKeys = append(s.undoKeys, k)
			return true
		}
	}
	s.passed[e.Source] = true
	s.undoSources = append(s.undoSources, e.Source)
	return false
}

// Write appends the batch's events, skipping those the file already holds
// from before a crash, and fsyncs per the configuration. On error nothing
// of the batch is in the file (see rollback) and the error is retryable.
func (s *Sink) Write(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.f == nil {
		if err := s.reopenLocked(); err != nil {
			return err
		}
	}
	buf, jev := s.buf[:0], s.jbuf[:0]
	s.undoKeys, s.undoSources = s.undoKeys[:0], s.undoSources[:0]
	for i := range b.Events {
		e := &b.Events[i]
		if s.skip(e) {
			continue
		}
		buf = append(buf, e.Raw...)
		buf = append(buf, '\n')
		if s.journal.f != nil {
			jev = appendJournalEvent(jev, len(jev) == 0, e.Source, e.ID)
		}
	}
	s.buf, s.jbuf = buf, jev
	if err := s.appendLocked(buf, jev); err != nil {
		// Nothing of the batch is in the file: the retry must skip the
		// same events again.
		for _, k := range s.undoKeys {
			s.written[k] = struct{}{}
		}
		for _, src := range s.undoSources {
			delete(s.passed, src)
		}
		return err
	}
	s.skipped += len(s.undoKeys)
	for _, src := range s.undoSources {
		s.log.Info("replay after restart reconciled", zap.String("source", src), zap.Int("skipped_total", s.skipped))
	}
	return nil
}

// appendLocked appends the journal record of a batch (if there is a
// journal), then the batch (buf, whole lines), and fsyncs per the
// configuration. On error both files are as they were before (see
// rollback).
func (s *Sink) appendLocked(buf, jev []byte) error {
	if len(buf) == 0 {
		return nil
	}
	before, err := s.begin(&s.data, s.cfg.Path)
	if err != nil {
		return err
	}
	j := s.journal.f
	if j == nil {
		if _, err := s.data.f.Write(buf); err != nil {
			return s.rollback(&s.data, before, s.cfg.Path, err)
		}
		if s.cfg.Fsync == "batch" {
			if err := s.data.f.Sync(); err != nil {
				return s.rollback(&s.data, before, s.cfg.Path, fmt.Errorf("fsync: %w", err))
			}
		}
		s.dirty = s.cfg.Fsync == "interval"
		return nil
	}
	jbefore, err := s.begin(&s.journal, "its journal")
	if err != nil {
		return err
	}
	rec := appendRecordHead(nil, s.dataID, before, before+int64(len(buf)))
	rec = append(append(rec, jev...), "]}\n"...)
	fail := func(err error) error {
		return errors.Join(s.rollback(&s.journal, jbefore, "its journal", err), s.rollback(&s.data, before, s.cfg.Path, nil))
	}
	if _, err := j.Write(rec); err != nil {
		return fail(fmt.Errorf("journal: %w", err))
	}
	if _, err := s.data.f.Write(buf); err != nil {
		return fail(err)
	}
	switch s.cfg.Fsync {
	case "batch":
		// Both fsyncs at once: the file system commits them together.
		jerr := make(chan error, 1)
		go func() { jerr <- j.Sync() }()
		derr := s.data.f.Sync()
		if err := errors.Join(derr, <-jerr); err != nil {
			return fail(fmt.Errorf("fsync: %w", err))
		}
	case "interval":
		s.dirty = true
	}
	s.covered += int64(len(buf))
	if s.covered > int64(s.cfg.ReconcileBytes) {
		s.rotateJournalLocked()
	}
	return nil
}

// begin cuts what a failed write left in a (refusing the write while it
// cannot) and returns its size before the batch.
func (s *Sink) begin(a *appendFile, what string) (int64, error) {
	if a.cutTo >= 0 {
		if err := s.truncate(a.f, a.cutTo); err != nil {
			return 0, fmt.Errorf("file %s: a failed write left a partial batch in %s that cannot be cut yet (to %d bytes): %w", s.cfg.Path, what, a.cutTo, err)
		}
		s.log.Warn("cut the partial batch left by a failed write", zap.String("path", s.cfg.Path), zap.String("file", what), zap.Int64("size", a.cutTo))
		a.cutTo = -1
	}
	st, err := a.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	return st.Size(), nil
}

// rollback handles a failed write of a batch: a goes back to its size
// before the batch (a short write, as on a full disk, leaves part of it),
// so that the retry writes whole lines after whole lines. If a cannot be
// cut, it is said loudly and nothing more is written until it can (begin).
// werr, when not nil, is the write's error, returned wrapped.
func (s *Sink) rollback(a *appendFile, before int64, what string, werr error) error {
	if werr != nil {
		werr = fmt.Errorf("file %s: %w", s.cfg.Path, werr)
	}
	if err := s.truncate(a.f, before); err != nil {
		a.cutTo = before
		s.log.Error("a failed write left part of a batch and it cannot be cut; no more writes until it can",
			zap.String("path", s.cfg.Path), zap.String("file", what), zap.Int64("size_before", before), zap.Error(err))
		return errors.Join(werr, fmt.Errorf("cut %s back to %d bytes: %w", what, before, err))
	}
	return werr
}

// rotateJournalLocked starts a new journal generation once the current
// one covers reconcile_bytes of data: the current one becomes the old one
// (the older is dropped). A failure is logged and the current journal
// kept (it grows, nothing is lost); the next attempt comes after another
// reconcile_bytes.
func (s *Sink) rotateJournalLocked() {
	cur, old := journalPaths(s.cfg.Path)
	s.covered = 0
	if s.cfg.Fsync != "never" {
		if err := s.journal.f.Sync(); err != nil {
			s.log.Warn("journal fsync before rotation failed; keeping it", zap.Error(err))
			return
		}
	}
	if err := os.Rename(cur, old); err != nil {
		s.log.Warn("journal rotation failed; keeping it", zap.Error(err))
		return
	}
	j, err := os.OpenFile(cur, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, s.mode)
	if err != nil {
		// Go on with the journal just renamed, under its name again.
		if rerr := os.Rename(old, cur); rerr != nil {
			s.log.Error("cannot start a new journal nor rename the old one back; records go to the old one",
				zap.String("journal", old), zap.Error(errors.Join(err, rerr)))
			return
		}
		s.log.Warn("cannot start a new journal; keeping the current one", zap.Error(err))
		return
	}
	s.journal.f.Close()
	s.journal.f = j
}

func (s *Sink) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.FsyncInterval.D())
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if s.dirty && s.data.f != nil {
				err := s.data.f.Sync()
				if s.journal.f != nil {
					err = errors.Join(err, s.journal.f.Sync())
				}
				if err != nil {
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
// rename, writes go to a new file at the configured path (the journal
// stays: it names each batch's file). If the new file cannot be opened,
// Reopen returns the error and the sink stays without a file: each Write
// tries the open again and fails with a retryable error until it succeeds
// (counted in Options.OpenErrors, Options.Open at 0).
func (s *Sink) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	if f := s.data.f; f != nil {
		if s.data.cutTo >= 0 {
			if err := s.truncate(f, s.data.cutTo); err != nil {
				s.log.Error("rotating a file that ends with the partial batch of a failed write",
					zap.String("path", s.cfg.Path), zap.Int64("from_byte", s.data.cutTo), zap.Error(err))
			}
			s.data.cutTo = -1
		}
		if err := f.Sync(); err != nil {
			s.log.Warn("fsync before reopen failed", zap.Error(err))
		}
		if err := f.Close(); err != nil {
			s.log.Warn("close before reopen failed", zap.Error(err))
		}
		s.data.f = nil
	}
	if err := s.openLocked(); err != nil {
		s.openFailing = true
		return fmt.Errorf("%w (writes retry the open)", err)
	}
	s.openFailing = false
	return nil
}

// Close syncs and closes the file and its journal.
func (s *Sink) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = false
	var errs []error
	if f := s.data.f; f != nil {
		errs = append(errs, f.Sync(), f.Close())
		s.data.f = nil
	}
	if j := s.journal.f; j != nil {
		errs = append(errs, j.Sync(), j.Close())
		s.journal.f = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("file %s: %w", s.cfg.Path, err)
	}
	return nil
}
