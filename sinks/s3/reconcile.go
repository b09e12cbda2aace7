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

// reconcile returns the ids of the lines held by the application's newest
// objects (at most ReconcileObjects of them): after a crash, the lines
// replayed from the last checkpoint are among them, and must not be
// archived again.
//
// The newest objects are found without listing the whole archive: the
// newest hour folder ({yyyy}/{mm}/{dd}/{HH}, by descending the folder
// names), and the hour before it (a batch whose lines straddle the hour,
// dates a little out of order); their objects sort by the date of their
// first line, and the last ones are read.
func (s *Sink) reconcile(ctx context.Context, app string) (map[string]struct{}, error) {
	n := 4
	if s.cfg.ReconcileObjects != nil {
		n = *s.cfg.ReconcileObjects
	}
	if n == 0 {
		return nil, nil
	}
	root := safe(app) + "/"
	if s.cfg.Prefix != "" {
		root = s.cfg.Prefix + "/" + root
	}
	hour := root
	for range 4 { // year, month, day, hour
		dirs, err := s.list(ctx, hour, false)
		if err != nil {
			return nil, err
		}
		if len(dirs) == 0 {
			return nil, nil // nothing archived yet
		}
		hour = dirs[len(dirs)-1]
	}
	t, err := time.Parse("2006/01/02/15/", strings.TrimPrefix(hour, root))
	if err != nil {
		return nil, nil // not a folder of ours
	}
	var keys []string
	for _, h := range []string{root + t.Add(-time.Hour).Format("2006/01/02/15/"), hour} {
		ks, err := s.list(ctx, h, true)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(base(a), base(b)) })
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

func base(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

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
