package s3

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"

	"github.com/logship/logship/event"
)

// ReconcileMargin is how far before the date of the first line an
// application's first write holds the sink looks for archived lines: the
// lines of a stream come out of order by up to the source's look-back (10 s
// by default), so a replayed line may sit in an object whose first line is
// dated a little before the replay's first one.
const ReconcileMargin = time.Minute

// keyDate is the layout of an object key's date part, after the
// application's folder: the hour folder, then the first line's date.
const keyDate = "2006/01/02/15/20060102T150405.000000Z"

// reconcile returns the ids of the lines held by the application's objects
// that can hold a line dated at or after since (the date of the oldest
// line of its first write after a start): every object whose first line
// is dated at or after since - ReconcileMargin, and the newest object
// before them (its lines may run past since). After a crash, the source
// replays from the last checkpoint (minus its look-back), so every
// replayed line that was archived is among them.
//
// It is bounded: one listing of the application's keys from since -
// ReconcileMargin on (ListObjectsV2 with start-after: the keys sort by the
// date of their first line; one request per 1,000 keys), one listing of
// the hour folder of since - ReconcileMargin (and of the hour before it
// when that one holds no older object), and at most ReconcileObjects
// objects read, the newest ones when the window holds more. The archive
// before that window is never listed. until, when not zero, ends the
// window before that date (a later write extending the window backwards).
func (s *Sink) reconcile(ctx context.Context, app string, since, until time.Time) (map[string]struct{}, error) {
	n := s.cfg.reconcileObjects()
	if n == 0 {
		return nil, nil
	}
	root := safe(app) + "/"
	if s.cfg.Prefix != "" {
		root = s.cfg.Prefix + "/" + root
	}
	from := since.Add(-ReconcileMargin).UTC()
	mark := root + from.Format(keyDate)
	end := ""
	if !until.IsZero() {
		end = root + until.Add(-ReconcileMargin).UTC().Format(keyDate)
	}

	var keys []string
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing when the loop leaves early
	for o := range s.client.ListObjects(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: root, Recursive: true, StartAfter: mark}) {
		if o.Err != nil {
			return nil, o.Err
		}
		if end != "" && o.Key >= end {
			break
		}
		if !ours(o.Key) {
			continue
		}
		keys = append(keys, o.Key)
		if len(keys) >= 2*n { // keep the newest n, in bounded memory
			keys = append(keys[:0], keys[len(keys)-n:]...)
		}
	}
	// The newest object before the window: in the hour folder of from, or
	// the hour before.
	for _, h := range []time.Time{from, from.Add(-time.Hour)} {
		ks, err := s.list(ctx, root+h.Format("2006/01/02/15/"), true)
		if err != nil {
			return nil, err
		}
		i, _ := slices.BinarySearch(ks, mark)
		for i--; i >= 0 && !ours(ks[i]); i-- {
		}
		if i >= 0 {
			keys = append([]string{ks[i]}, keys...)
			break
		}
	}
	if len(keys) > n {
		keys = keys[len(keys)-n:]
	}
	ids := map[string]struct{}{}
	for _, k := range keys {
		if err := s.readIDs(ctx, k, ids); err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
	}
	return ids, nil
}

// ours reports a key of an object the sink writes (any compression).
func ours(key string) bool {
	return strings.HasSuffix(key, ".ndjson") || strings.HasSuffix(key, ".ndjson.gz") || strings.HasSuffix(key, ".ndjson.zst")
}

// list returns the keys under prefix: its folders (sorted) when objects is
// false, its objects otherwise.
func (s *Sink) list(ctx context.Context, prefix string, objects bool) ([]string, error) {
	var out []string
	for o := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if o.Err != nil {
			return nil, o.Err
		}
		if strings.HasSuffix(o.Key, "/") != objects {
			out = append(out, o.Key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readIDs adds the ids of the lines of object key to ids.
func (s *Sink) readIDs(ctx context.Context, key string, ids map[string]struct{}) error {
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	var r io.Reader = obj
	switch {
	case strings.HasSuffix(key, ".gz"):
		zr, err := gzip.NewReader(obj)
		if err != nil {
			return err
		}
		r = zr
	case strings.HasSuffix(key, ".zst"):
		zr, err := zstd.NewReader(obj, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	fr := event.NewFieldReader([]string{"id"})
	for sc.Scan() {
		if fr.Read(sc.Bytes()) == nil && fr.Values[0] != nil {
			ids[string(fr.Values[0])] = struct{}{}
		}
	}
	return sc.Err()
}
