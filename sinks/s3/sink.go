// Package s3 is logship's archive sink: it writes each batch, per
// application, as one compressed NDJSON object to an S3-compatible store
// (Clever Cloud Cellar, AWS S3, MinIO, Ceph), with minio-go.
//
// An object's key is made of the application, the date of its first line
// and the ids of its first and last lines, so that a batch written again
// (a retry) replaces the same object instead of adding a second one. At an
// application's first write, the sink reads its objects dated from that
// write's oldest line (minus a margin) on, and the one before, and skips
// the lines they already hold: lines replayed after a crash are not
// archived twice. See README.md.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/zap"

	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
)

// Interface guards.
var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Starter = (*Sink)(nil)
)

// Options are the sink's settings that do not come from its config entry.
type Options struct {
	// Name identifies the sink in logs (default "s3").
	Name string
	// Logger receives state changes; nil logs nothing.
	Logger *zap.Logger
	// Env reads the environment (AWS_* credentials); default os.LookupEnv.
	Env func(string) (string, bool)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Sink archives batches to S3. Its methods are safe for concurrent use.
type Sink struct {
	cfg    Config
	name   string
	log    *zap.Logger
	client *minio.Client
	tr     *http.Transport
	secure bool
	ext    string // key suffix: .ndjson.gz, .ndjson.zst or .ndjson
	ctype  string

	mu   sync.Mutex
	apps map[string]*appState

	zenc *zstd.Encoder
	bufs sync.Pool // *bytes.Buffer
}

// appState is what the sink knows of one application's archive.
type appState struct {
	mu sync.Mutex
	// reconciled is set once the objects of the replay were read.
	reconciled bool
	// since is the date from which they were read (the oldest line of
	// the first write): a later write of older lines, while the replay
	// goes on, reads the objects before it too.
	since time.Time
	// skip holds the ids of the lines those objects hold; nil once a
	// write found none of them (the replay is over).
	skip map[string]struct{}
}

// New returns a sink for cfg, which must be valid (Validate). It does no
// I/O: Start checks the bucket.
func New(cfg *Config, opts Options) (*Sink, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, ps
	}
	s := &Sink{cfg: *cfg, name: opts.Name, log: opts.Logger, apps: map[string]*appState{}}
	if s.name == "" {
		s.name = "s3"
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	id, secret, token := cfg.AccessKeyID, cfg.SecretAccessKey.Reveal(), cfg.SessionToken.Reveal()
	if id == "" && secret == "" {
		id, _ = env("AWS_ACCESS_KEY_ID")
		secret, _ = env("AWS_SECRET_ACCESS_KEY")
		if token == "" {
			token, _ = env("AWS_SESSION_TOKEN")
		}
	}
	if id == "" || secret == "" {
		return nil, errors.New("s3 sink: no credentials: set access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	scheme, host, _ := cfg.endpoint()
	s.secure = scheme == "https"
	tr, err := minio.DefaultTransport(s.secure)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	s.tr = tr
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	s.client, err = minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(id, secret, token),
		Secure:       s.secure,
		Transport:    tr,
		Region:       cfg.Region,
		BucketLookup: lookup,
		// The pipeline retries, with backoff and backpressure; minio-go's
		// own retries would hide the failures and hold a Write for long.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 sink: endpoint: %w", err)
	}
	switch cfg.Compression {
	case CompressionGzip:
		s.ext, s.ctype = ".ndjson.gz", "application/gzip"
	case CompressionZstd:
		s.ext, s.ctype = ".ndjson.zst", "application/zstd"
		if s.zenc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1)); err != nil {
			return nil, fmt.Errorf("s3 sink: %w", err)
		}
	default:
		s.ext, s.ctype = ".ndjson", "application/x-ndjson"
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	cfg.TLS.WarnIfInsecure(s.log)
	return s, nil
}

// Start reads the TLS files and checks that the bucket exists and that
// the credentials are accepted. A store that cannot be reached is only
// logged: the writes retry.
func (s *Sink) Start(ctx context.Context) error {
	if s.secure && !s.cfg.TLS.IsZero() {
		tc, err := s.cfg.TLS.Client("")
		if err != nil {
			return fmt.Errorf("s3 sink: %w", err)
		}
		s.tr.TLSClientConfig = tc
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, err := s.client.BucketExists(cctx, s.cfg.Bucket)
	switch {
	case err != nil && refused(err):
		return fmt.Errorf("s3 sink: bucket %s: %w", s.cfg.Bucket, err)
	case err != nil:
		s.log.Warn("cannot reach the object store at start; writes will retry", zap.Error(err))
	case !ok:
		return fmt.Errorf("s3 sink: bucket %s does not exist", s.cfg.Bucket)
	}
	return nil
}

// refused reports an error of the credentials or permissions.
func refused(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return true
	}
	return false
}

// permanent reports an upload error that no retry can fix.
func permanent(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case "EntityTooLarge", "InvalidArgument", "KeyTooLongError", "InvalidObjectName":
		return true
	}
	return false
}

// Write archives the batch: one object per application, in batch order.
// It returns nil once every object is stored; otherwise a retryable error
// (nothing stored), or an *event.PartialError naming the events of the
// objects still to write. Lines that the application's objects of the
// replay window already held (a replay after a crash) count as written.
func (s *Sink) Write(ctx context.Context, b *event.Batch) error {
	if b == nil || len(b.Events) == 0 {
		return nil
	}
	groups := groupByApp(b.Events)
	var retry []int
	var rejected []event.Rejection
	var lastErr error
	for _, g := range groups {
		if err := s.writeApp(ctx, b.Events, g); err != nil {
			lastErr = err
			if event.IsPermanent(err) {
				for _, i := range g.idx {
					rejected = append(rejected, event.Rejection{Index: i, Reason: err.Error()})
				}
			} else {
				retry = append(retry, g.idx...)
			}
		}
	}
	switch {
	case lastErr == nil:
		return nil
	case len(groups) == 1:
		return lastErr
	}
	slices.Sort(retry)
	return &event.PartialError{Retry: retry, Rejected: rejected, Err: lastErr}
}

// appGroup is one application's events in a batch (indexes, in order).
type appGroup struct {
	app string
	idx []int
}

func groupByApp(evs []event.Event) []appGroup {
	var gs []appGroup
	for i := range evs {
		app := appOf(&evs[i])
		j := slices.IndexFunc(gs, func(g appGroup) bool { return g.app == app })
		if j < 0 {
			gs = append(gs, appGroup{app: app})
			j = len(gs) - 1
		}
		gs[j].idx = append(gs[j].idx, i)
	}
	return gs
}

func appOf(e *event.Event) string {
	if e.AppID != "" {
		return e.AppID
	}
	return e.Source
}

// state returns the application's state, creating it.
func (s *Sink) state(app string) *appState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.apps[app]
	if st == nil {
		st = &appState{}
		s.apps[app] = st
	}
	return st
}

// writeApp stores one application's events of a batch as one object.
func (s *Sink) writeApp(ctx context.Context, evs []event.Event, g appGroup) error {
	st := s.state(g.app)
	st.mu.Lock()
	defer st.mu.Unlock()
	// The oldest dated line (an undated one is keyed in 1970 and would
	// make the window the whole archive of the application).
	var oldest time.Time
	for _, i := range g.idx {
		if evs[i].Date == 0 {
			continue
		}
		if t := evs[i].Time(); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		oldest = time.Unix(0, 0).UTC()
	}
	switch {
	case !st.reconciled:
		skip, err := s.reconcile(ctx, g.app, oldest, time.Time{})
		if err != nil {
			return fmt.Errorf("s3 %s: reading the archived objects of %s: %w", s.cfg.Bucket, g.app, err)
		}
		st.skip, st.since, st.reconciled = skip, oldest, true
		if len(skip) > 0 {
			s.log.Info("read the archived lines an application's replay may hold: replayed ones will be skipped",
				zap.String("application", g.app), zap.Int("ids", len(skip)))
		}
	case st.skip != nil && oldest.Before(st.since):
		// Older lines than the first write's while the replay goes on
		// (batches written out of order, in_flight > 1): read the objects
		// of the window before the one read.
		more, err := s.reconcile(ctx, g.app, oldest, st.since)
		if err != nil {
			return fmt.Errorf("s3 %s: reading the archived objects of %s: %w", s.cfg.Bucket, g.app, err)
		}
		for id := range more {
			st.skip[id] = struct{}{}
		}
		st.since = oldest
	}
	keep := g.idx
	skipped := 0
	if st.skip != nil {
		keep = make([]int, 0, len(g.idx))
		for _, i := range g.idx {
			if _, ok := st.skip[evs[i].ID]; ok {
				skipped++
				continue
			}
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	first, last := &evs[keep[0]], &evs[keep[len(keep)-1]]
	key := s.key(g.app, first, last)

	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(buf)
	if err := s.encode(buf, evs, keep); err != nil {
		return err
	}
	uctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout.D())
	defer cancel()
	_, err := s.client.PutObject(uctx, s.cfg.Bucket, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), minio.PutObjectOptions{
		ContentType:  s.ctype,
		StorageClass: s.cfg.StorageClass,
		PartSize:     uint64(s.cfg.PartSize),
		UserMetadata: map[string]string{"logship-lines": fmt.Sprint(len(keep))},
	})
	if err != nil {
		err = fmt.Errorf("s3 put %s/%s: %w", s.cfg.Bucket, key, err)
		if permanent(err) {
			return event.Permanent(err)
		}
		return err
	}
	if skipped == 0 {
		st.skip = nil // the replay, if any, is over
	}
	return nil
}

// encode writes the events keep of evs as compressed NDJSON into buf.
func (s *Sink) encode(buf *bytes.Buffer, evs []event.Event, keep []int) error {
	buf.Reset()
	var w io.Writer = buf
	var closer io.Closer
	switch s.cfg.Compression {
	case CompressionGzip:
		zw, _ := gzip.NewWriterLevel(buf, gzip.DefaultCompression)
		w, closer = zw, zw
	case CompressionZstd:
		s.mu.Lock() // one encoder, reset per object
		defer s.mu.Unlock()
		s.zenc.Reset(buf)
		w, closer = s.zenc, s.zenc
	}
	for _, i := range keep {
		if _, err := w.Write(evs[i].Raw); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	if closer != nil {
		return closer.Close()
	}
	return nil
}

func (s *Sink) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<20 {
		s.bufs.Put(b)
	}
}

// key returns the object key of an application's lines first..last:
//
//	{prefix}/{applicationId}/{yyyy}/{mm}/{dd}/{HH}/{firstDate}-{firstId}-{lastId}.ndjson.gz
//
// with the date parts and firstDate (20261127T100000.123456Z) from the
// first line's date in UTC. Characters of ids outside [A-Za-z0-9._-] are
// written %XX.
func (s *Sink) key(app string, first, last *event.Event) string {
	t := first.Time()
	var b strings.Builder
	if s.cfg.Prefix != "" {
		b.WriteString(s.cfg.Prefix)
		b.WriteByte('/')
	}
	b.WriteString(safe(app))
	b.WriteString(t.Format("/2006/01/02/15/20060102T150405.000000Z"))
	b.WriteByte('-')
	b.WriteString(safe(first.ID))
	b.WriteByte('-')
	b.WriteString(safe(last.ID))
	b.WriteString(s.ext)
	return b.String()
}

// safe escapes the characters of s outside [A-Za-z0-9._-] as %XX.
func safe(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.tr.CloseIdleConnections()
	return nil
}
