package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/logship/logship/event"
)

// The journal is what crash reconciliation reads: for each batch written,
// one line naming the data file (device and inode), the byte range the
// batch took in it, and the source and id of each event:
//
//	{"dev":64769,"ino":1234,"from":0,"to":812,"ev":["source","id","source","id"]}
//
// It is kept next to the data file under a hidden name
// (.<name>.logship-journal), so it does not depend on what the lines
// carry: the pipeline's fields stage may drop or rename `id`, two sources
// may carry the same ids, and logrotate may have renamed the file the
// lines went to.
//
// A record is appended before its batch, so a crash between the two, or
// in the middle of the batch's write (a write is not atomic: a SIGKILL can
// cut it between pages), leaves a record whose range goes beyond the data
// file's end: reconcile counts the whole lines the file holds from the
// record's start, and takes only that many of its events (the lines are
// written in the order of the record's events). The next run appends where
// the cut left the file, so in later reconciliations such a record is told
// by the record after it starting before its end: its claim stops there,
// however far the file has grown since (a later crash must not count the
// cut batch's missing events as held: they would be skipped, i.e. lost).
// A cut record of a file rotated away (rotated while logship was down)
// cannot be read again: none of its events counts as held. The
// journal covers at least reconcile_bytes of the data written last: past
// that it is renamed to .<name>.logship-journal.old (replacing the older
// one) and started anew.

// journalPaths returns the journal's path and its previous generation's.
func journalPaths(dataPath string) (cur, old string) {
	cur = filepath.Join(filepath.Dir(dataPath), "."+filepath.Base(dataPath)+".logship-journal")
	return cur, cur + ".old"
}

// fileID identifies a file across renames.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // Dev's type differs by platform
	}
	return fileID{}
}

// journalRecord is one line of the journal.
type journalRecord struct {
	Dev  uint64   `json:"dev"`
	Ino  uint64   `json:"ino"`
	From int64    `json:"from"`
	To   int64    `json:"to"`
	Ev   []string `json:"ev"`
}

// appendRecordHead appends a record's opening up to the event list.
func appendRecordHead(b []byte, id fileID, from, to int64) []byte {
	b = append(b, `{"dev":`...)
	b = appendUint(b, id.dev)
	b = append(b, `,"ino":`...)
	b = appendUint(b, id.ino)
	b = append(b, `,"from":`...)
	b = appendUint(b, uint64(from))
	b = append(b, `,"to":`...)
	b = appendUint(b, uint64(to))
	return append(b, `,"ev":[`...)
}

func appendUint(b []byte, n uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// appendJournalEvent appends one event's source and id to a record's list.
func appendJournalEvent(b []byte, first bool, source, id string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = event.AppendString(b, source)
	b = append(b, ',')
	return event.AppendString(b, id)
}

// writtenKey is the key of the set of events a file already holds.
func writtenKey(source, id string) string { return source + "\x00" + id }

// readJournal returns the records of the journal at path (oldest first),
// and the size of its whole lines (a torn last record, left by a crash,
// is not counted). A missing journal is not an error (ok false).
func readJournal(path string) (recs []journalRecord, whole int64, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	whole = int64(bytes.LastIndexByte(data, '\n') + 1)
	for line := range bytes.SplitSeq(data[:whole], []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r journalRecord
		if err := json.Unmarshal(line, &r); err != nil || len(r.Ev)%2 != 0 {
			continue // torn by a failed cut, or damaged: those events may be written again
		}
		recs = append(recs, r)
	}
	return recs, whole, true, nil
}

// loadJournal fills written with the (source, id) of the events of the
// last reconcile bytes of data written, from the journal's two
// generations. cur is the data file as it is now (its identity and size
// after a torn last line was cut). It returns the data bytes the current
// generation covers, and whether any journal was found.
func loadJournal(dataPath string, cur fileID, size, reconcile int64, written map[string]struct{}) (covered int64, found bool, err error) {
	var data *os.File // opened for a record that goes beyond size
	defer func() {
		if data != nil {
			data.Close()
		}
	}()
	curPath, oldPath := journalPaths(dataPath)
	oldRecs, _, okOld, err := readJournal(oldPath)
	if err != nil {
		return 0, false, err
	}
	curRecs, _, okCur, err := readJournal(curPath)
	if err != nil {
		return 0, false, err
	}
	for _, r := range curRecs {
		covered += r.To - r.From
	}
	recs := append(oldRecs, curRecs...)
	// next[f] is where the data of the record after the one at hand
	// starts in file f (the records are read newest first). A file is only
	// appended to, so a batch whose record claims more than that was cut
	// by a crash, and the next run's first batch went where the cut left
	// the file: the record's claim ends there, however far the file has
	// grown since.
	next := map[fileID]int64{cur: size}
	var total int64
	for i := len(recs) - 1; i >= 0 && total < reconcile; i-- {
		r := &recs[i]
		f := fileID{r.Dev, r.Ino}
		n := len(r.Ev) / 2
		if end, ok := next[f]; ok && r.To > end {
			// The batch reached the file partly or not at all: only its
			// lines that are whole in the file, before end, count. Those
			// of a file rotated away cannot be read: none counts (they may
			// be written twice, never lost).
			n = 0
			if f == cur && r.From < end {
				if data == nil {
					if data, err = os.Open(dataPath); err != nil {
						return 0, false, err
					}
				}
				part := make([]byte, end-r.From)
				if _, err := data.ReadAt(part, r.From); err != nil && err != io.EOF {
					return 0, false, err
				}
				n = min(bytes.Count(part, []byte("\n")), len(r.Ev)/2)
			}
		}
		if e, ok := next[f]; !ok || r.From < e {
			next[f] = r.From
		}
		total += r.To - r.From
		for j := 0; j+1 < 2*n; j += 2 {
			written[writtenKey(r.Ev[j], r.Ev[j+1])] = struct{}{}
		}
	}
	return covered, okOld || okCur, nil
}

// cutTornRecord cuts a torn last record of the journal at path, so that
// the next record starts on a line of its own.
func cutTornRecord(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil && err != io.EOF {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(bytes.LastIndexByte(data, '\n') + 1)); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
