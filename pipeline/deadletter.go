package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/logship/logship/event"
)

// deadLetters appends the events that will never reach a sink (refused for
// good, too large, retries exhausted) to an NDJSON file, one object per
// event: {"time","reason","sink","source","id","event"}, where sink is null
// for an event refused before any sink (larger than max_event_bytes) and
// event is the event as the sink would have received it. A write is synced
// before it returns, since the event then counts as delivered.
//
// A write that fails leaves the file at its size before it (a short write,
// as on a full disk, is cut off), so that the caller's retry appends whole
// lines after whole lines. If the cut fails too, it is logged by the
// caller through the error and retried before anything else is written.
type deadLetters struct {
	path string
	mu   sync.Mutex
	f    *os.File
	buf  []byte
	// cutTo, when >= 0, is the size f must be cut back to before the next
	// write.
	cutTo int64
}

func newDeadLetters(path string) *deadLetters { return &deadLetters{path: path, cutTo: -1} }

// open opens (or reopens) the file lazily: a pipeline that never
// dead-letters anything creates no file.
func (d *deadLetters) openLocked() error {
	if d.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(d.path), 0o750); err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	d.f = f
	return nil
}

// write appends events with one reason, attributed to sink ("" for events
// refused before any sink).
func (d *deadLetters) write(sink, reason string, events []event.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.openLocked(); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	b := d.buf[:0]
	for i := range events {
		e := &events[i]
		b = append(b, `{"time":`...)
		b = event.AppendString(b, now)
		b = append(b, `,"reason":`...)
		b = event.AppendString(b, reason)
		b = append(b, `,"sink":`...)
		if sink != "" {
			b = event.AppendString(b, sink)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"source":`...)
		b = event.AppendString(b, e.Source)
		b = append(b, `,"id":`...)
		b = event.AppendString(b, e.ID)
		b = append(b, `,"event":`...)
		b = append(b, e.Raw...)
		b = append(b, "}\n"...)
	}
	d.buf = b
	if d.cutTo >= 0 {
		if err := d.f.Truncate(d.cutTo); err != nil {
			return fmt.Errorf("dead-letter file: a failed write left a partial batch that cannot be cut yet (to %d bytes): %w", d.cutTo, err)
		}
		d.cutTo = -1
	}
	st, err := d.f.Stat()
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	_, err = d.f.Write(b)
	if err == nil {
		if err = d.f.Sync(); err == nil {
			return nil
		}
	}
	if terr := d.f.Truncate(st.Size()); terr != nil {
		d.cutTo = st.Size()
		return fmt.Errorf("dead-letter file: %w; and the partial batch cannot be cut (to %d bytes): %w", err, st.Size(), terr)
	}
	return fmt.Errorf("dead-letter file: %w", err)
}

// reopen closes the file so the next write opens it again (logrotate).
// A partial batch that could not be cut is cut now, or reported.
func (d *deadLetters) reopen() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	var errs []error
	if d.cutTo >= 0 {
		if err := d.f.Truncate(d.cutTo); err != nil {
			errs = append(errs, fmt.Errorf("dead-letter file: a partial batch stays at its end (from byte %d): %w", d.cutTo, err))
		}
		d.cutTo = -1
	}
	errs = append(errs, d.f.Close())
	d.f = nil
	return errors.Join(errs...)
}

func (d *deadLetters) close() error { return d.reopen() }
