package s3

import (
	"github.com/logship/logship/config"

	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/logship/logship/event"
)

const testBucket = "logs-archive"

// store is an in-process S3 server (gofakes3 over real HTTP) behind a
// handler that injects faults into object uploads.
type store struct {
	t   *testing.T
	url string
	// fault decides, for the n-th upload request (from 0), what goes
	// wrong: "" (nothing), "slowdown" (503 SlowDown, nothing stored),
	// "lost" (stored, then 503: the answer is lost), "reset" (the
	// connection is closed while the body is read).
	fault func(n int) string

	caFile string

	mu      sync.Mutex
	uploads int
	faults  map[string]int
	// gets counts the objects read (GET of a key of ours).
	gets int
}

func newStore(t *testing.T) *store { return newStoreTLS(t, false) }

// newStoreTLS serves the store over https when tls is set (its CA in
// st.caFile).
func newStoreTLS(t *testing.T, tls bool) *store {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend)
	st := &store{t: t, faults: map[string]int{}}
	h := faker.Server()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && ours(r.URL.Path) {
			st.mu.Lock()
			st.gets++
			st.mu.Unlock()
		}
		if r.Method != http.MethodPut && r.Method != http.MethodPost || st.fault == nil {
			h.ServeHTTP(w, r)
			return
		}
		st.mu.Lock()
		n := st.uploads
		st.uploads++
		f := st.fault(n)
		st.faults[f]++
		st.mu.Unlock()
		switch f {
		case "slowdown":
			_, _ = io.Copy(io.Discard, r.Body)
			slowDown(w)
		case "lost":
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			slowDown(w)
		case "reset":
			_, _ = io.CopyN(io.Discard, r.Body, 100)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			h.ServeHTTP(w, r)
		}
	}))
	if tls {
		srv.StartTLS()
		st.caFile = filepath.Join(t.TempDir(), "ca.pem")
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(st.caFile, pemCert, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	st.url = srv.URL
	return st
}

func slowDown(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
}

func (st *store) config() *Config {
	c := NewDefaultConfig()
	c.Endpoint, c.Region, c.Bucket, c.Prefix, c.PathStyle = st.url, "us-east-1", testBucket, "clever/logs", true
	c.AccessKeyID, c.SecretAccessKey = "test-key", "test-secret"
	c.Timeout = config.Duration(10 * time.Second)
	return c
}

func newTestSink(t *testing.T, cfg *Config) *Sink {
	t.Helper()
	s, err := New(cfg, Options{Name: "s3-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// object is one archived object, read back.
type object struct {
	key   string
	lines [][]byte
}

var keyRE = regexp.MustCompile(`^clever/logs/(app_[0-9a-z]+)/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{8}T\d{6}\.\d{6}Z)-([A-Za-z0-9._%-]+)-([A-Za-z0-9._%-]+)\.ndjson(\.gz|\.zst)?$`)

// readAll lists the bucket and reads every object back, decompressing it
// and checking that its key follows the template.
func (st *store) readAll(t *testing.T) []object {
	t.Helper()
	opts := &minio.Options{Creds: credentials.NewStaticV4("test-key", "test-secret", ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath}
	if st.caFile != "" {
		opts.Secure = true
		tr, _ := minio.DefaultTransport(true)
		pool := x509.NewCertPool()
		caPEM, _ := os.ReadFile(st.caFile)
		pool.AppendCertsFromPEM(caPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		opts.Transport = tr
	}
	host := strings.TrimPrefix(strings.TrimPrefix(st.url, "http://"), "https://")
	cl, err := minio.New(host, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []object
	for o := range cl.ListObjects(t.Context(), testBucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		m := keyRE.FindStringSubmatch(o.Key)
		if m == nil {
			t.Fatalf("key %q does not follow the template", o.Key)
		}
		obj, err := cl.GetObject(t.Context(), testBucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = obj
		var zr *zstd.Decoder
		switch m[9] {
		case ".gz":
			if r, err = gzip.NewReader(obj); err != nil {
				t.Fatalf("%s: %v", o.Key, err)
			}
		case ".zst":
			if zr, err = zstd.NewReader(obj); err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		data, err := io.ReadAll(r)
		obj.Close()
		if zr != nil {
			zr.Close()
		}
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		ob := object{key: o.Key}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := append([]byte(nil), sc.Bytes()...)
			var v struct{ ID, ApplicationID, Date string }
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("%s: line %q: %v", o.Key, line, err)
			}
			if v.ApplicationID != m[1] {
				t.Fatalf("%s holds a line of %s", o.Key, v.ApplicationID)
			}
			ob.lines = append(ob.lines, line)
		}
		first := ob.lines[0]
		var fv struct{ ID, Date string }
		_ = json.Unmarshal(first, &fv)
		if fv.ID != m[7] {
			t.Errorf("%s: first line %s", o.Key, fv.ID)
		}
		d, _ := time.Parse(time.RFC3339Nano, fv.Date)
		if d.UTC().Format("2006/01/02/15/20060102T150405.000000Z") != strings.Join(m[2:6], "/")+"/"+m[6] {
			t.Errorf("%s: first line dated %s", o.Key, fv.Date)
		}
		out = append(out, ob)
	}
	return out
}

// idCounts counts the ids over objects.
func idCounts(objs []object) map[string]int {
	c := map[string]int{}
	for _, o := range objs {
		for _, l := range o.lines {
			var v struct{ ID string }
			_ = json.Unmarshal(l, &v)
			c[v.ID]++
		}
	}
	return c
}

// testEvent is line seq of application app.
func testEvent(seq int, app string) event.Event {
	return testEventAt(seq, app, time.Date(2026, 11, 27, 9, 58, 0, 0, time.UTC), 50*time.Millisecond)
}

// testEventAt is line seq of app, dated t0 + seq × step.
func testEventAt(seq int, app string, t0 time.Time, step time.Duration) event.Event {
	id := fmt.Sprintf("%s%06d", app[4:], seq)
	date := t0.Add(time.Duration(seq) * step)
	raw := fmt.Sprintf(`{"id":%q,"date":%q,"applicationId":%q,"message":"line %d \"q\" é"}`, id, date.Format(time.RFC3339Nano), app, seq)
	return event.Event{Raw: []byte(raw), ID: id, Date: date.UnixNano(), Source: "src-" + app, AppID: app}
}

// batches cuts lines from..to of apps (interleaved) into batches of n.
func batches(apps []string, from, to, n int) []*event.Batch {
	var out []*event.Batch
	b := &event.Batch{}
	for seq := from; seq < to; seq++ {
		for _, a := range apps {
			b.Add(testEvent(seq, a))
			if b.Len() == n {
				out = append(out, b)
				b = &event.Batch{}
			}
		}
	}
	if b.Len() > 0 {
		out = append(out, b)
	}
	return out
}

// deliver writes b as the pipeline does: again after a retryable error,
// only the events to retry after a partial one.
func deliver(t *testing.T, s *Sink, b *event.Batch) (fails int) {
	t.Helper()
	for ; ; fails++ {
		err := s.Write(t.Context(), b)
		if err == nil {
			return fails
		}
		var pe *event.PartialError
		switch {
		case errors.As(err, &pe):
			if len(pe.Rejected) > 0 {
				t.Fatalf("rejected: %v", pe.Rejected)
			}
			next := &event.Batch{}
			for _, i := range pe.Retry {
				next.Add(b.Events[i])
			}
			b = next
		case event.IsPermanent(err):
			t.Fatalf("permanent: %v", err)
		}
		if fails > 30 {
			t.Fatalf("still failing: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func checkOnce(t *testing.T, got map[string]int, apps []string, from, to int) {
	t.Helper()
	n := 0
	for _, a := range apps {
		for seq := from; seq < to; seq++ {
			id := testEvent(seq, a).ID
			if got[id] != 1 {
				if n < 10 {
					t.Errorf("%s archived %d times", id, got[id])
				}
				n++
			}
		}
	}
	if want := len(apps) * (to - from); len(got) != want {
		t.Errorf("%d ids archived, want %d", len(got), want)
	}
	if n > 0 {
		t.Errorf("%d ids not archived exactly once", n)
	}
}

var testApps = []string{"app_0a1b", "app_2c3d", "app_4e5f"}

func TestArchiveRoundTrip(t *testing.T) {
	for _, comp := range []string{CompressionGzip, CompressionZstd, CompressionNone} {
		t.Run(comp, func(t *testing.T) {
			st := newStore(t)
			cfg := st.config()
			cfg.Compression = comp
			s := newTestSink(t, cfg)
			bs := batches(testApps, 0, 1000, 500) // spans the 10:00 hour boundary
			for _, b := range bs {
				deliver(t, s, b)
			}
			objs := st.readAll(t)
			if len(objs) != len(bs)*len(testApps) {
				t.Errorf("%d objects, want one per batch and application: %d", len(objs), len(bs)*len(testApps))
			}
			checkOnce(t, idCounts(objs), testApps, 0, 1000)
			for _, o := range objs {
				for i := 1; i < len(o.lines); i++ {
					if bytes.Compare(o.lines[i-1], o.lines[i]) >= 0 && !bytes.Contains(o.lines[i], []byte(`"id"`)) {
						t.Fatalf("%s: lines out of order", o.key)
					}
				}
			}
		})
	}
}

// TestRetriesStoreOnce: uploads answered 503 SlowDown, uploads stored but
// answered 503 (the answer lost), and connections closed in the middle of
// the body. A retried batch writes the same key again, so every id is in
// the archive once, and there is one object per batch and application.
func TestRetriesStoreOnce(t *testing.T) {
	st := newStore(t)
	st.fault = func(n int) string {
		switch n % 7 {
		case 1:
			return "slowdown"
		case 3:
			return "lost"
		case 5:
			return "reset"
		}
		return ""
	}
	s := newTestSink(t, st.config())
	bs := batches(testApps, 0, 600, 200)
	fails := 0
	for _, b := range bs {
		fails += deliver(t, s, b)
	}
	objs := st.readAll(t)
	checkOnce(t, idCounts(objs), testApps, 0, 600)
	if len(objs) != len(bs)*len(testApps) {
		t.Errorf("%d objects, want %d", len(objs), len(bs)*len(testApps))
	}
	if fails == 0 || st.faults["slowdown"] == 0 || st.faults["lost"] == 0 || st.faults["reset"] == 0 {
		t.Errorf("faults not exercised: %d failed writes, %v", fails, st.faults)
	}
}

// TestRestartSkipsArchived: logship crashed after archiving lines 0..999
// but with its checkpoint at line 700, so it replays 700..999 (cut into
// other batches) before the new lines 1000..1199. The new sink reads the
// objects of each application that can hold replayed lines and skips
// what they hold: every id
// once. With reconcile_objects 0, the replayed lines would be archived
// twice (checked, so that the test can fail).
func TestRestartSkipsArchived(t *testing.T) {
	for _, reconcile := range []int{DefaultReconcileObjects, 4, 0} {
		t.Run(fmt.Sprintf("reconcile_objects=%d", reconcile), func(t *testing.T) {
			st := newStore(t)
			before := newTestSink(t, st.config())
			for _, b := range batches(testApps, 0, 1000, 300) {
				deliver(t, before, b)
			}
			_ = before.Close()

			cfg := st.config()
			cfg.ReconcileObjects = &reconcile
			after := newTestSink(t, cfg)
			st.fault = func(n int) string { // and the store is busy
				if n%4 == 0 {
					return "slowdown"
				}
				return ""
			}
			for _, b := range batches(testApps, 700, 1200, 170) {
				deliver(t, after, b)
			}
			got := idCounts(st.readAll(t))
			if reconcile == 0 {
				dups := 0
				for _, n := range got {
					if n > 1 {
						dups++
					}
				}
				if dups != 300*len(testApps) {
					t.Errorf("without reconciliation, %d ids doubled, want %d", dups, 300*len(testApps))
				}
				return
			}
			checkOnce(t, got, testApps, 0, 1200)
		})
	}
}

// TestRestartLongReplay: the checkpoint was 10 objects of each
// application behind when logship crashed (another sink held it back, or a
// loaded machine), and the archive holds 30 objects per application over
// two hour folders before. The source replays from the checkpoint minus
// its look-back (10 s), in other batches, across the hour. The sink reads
// every object past the checkpoint (and the one before it): every id once,
// and only those 11 objects of each application are read, not the
// archive. Before the replay window was derived from the dates, only the
// newest 4 objects were read and 1,010 lines per application were
// archived twice.
func TestRestartLongReplay(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 40, 0, 0, time.UTC) // line 1200 is 10:00
	cut := func(from, to, n int) []*event.Batch {
		var out []*event.Batch
		for lo := from; lo < to; lo += n {
			b := &event.Batch{}
			for seq := lo; seq < min(lo+n, to); seq++ {
				for _, a := range testApps {
					b.Add(testEventAt(seq, a, t0, time.Second))
				}
			}
			out = append(out, b)
		}
		return out
	}
	st := newStore(t)
	before := newTestSink(t, st.config())
	for _, b := range cut(0, 3000, 100) { // 30 objects per application
		deliver(t, before, b)
	}
	_ = before.Close()
	st.mu.Lock()
	st.gets = 0
	st.mu.Unlock()

	after := newTestSink(t, st.config())
	for _, b := range cut(2000-10, 3500, 170) { // checkpoint at 2000, look-back 10 s
		deliver(t, after, b)
	}
	st.mu.Lock()
	gets := st.gets
	st.mu.Unlock()
	objs := st.readAll(t)
	checkOnce(t, idCounts(objs), testApps, 0, 3500)
	if want := 11 * len(testApps); gets != want {
		t.Errorf("%d objects read at restart, want %d (10 past the checkpoint and the one before, per application)", gets, want)
	}

	// reconcile_objects bounds the objects read: with 4 (the old
	// default), the first replayed batch holds none of their lines, the
	// sink takes the replay for over, and the 1,000 lines past the
	// checkpoint of each application (and the 10 of the look-back) are
	// archived twice.
	st2 := newStore(t)
	before = newTestSink(t, st2.config())
	for _, b := range cut(0, 3000, 100) {
		deliver(t, before, b)
	}
	cfg := st2.config()
	four := 4
	cfg.ReconcileObjects = &four
	after = newTestSink(t, cfg)
	for _, b := range cut(2000-10, 3500, 170) {
		deliver(t, after, b)
	}
	dups := 0
	for _, n := range idCounts(st2.readAll(t)) {
		if n > 1 {
			dups++
		}
	}
	if want := (1000 + 10) * len(testApps); dups != want {
		t.Errorf("reconcile_objects 4: %d ids twice, want %d", dups, want)
	}
}

// TestRestartOutOfOrder: the replay's batches reach the sink out of order
// (in_flight > 1): the first write holds lines 800..949 while 500..799 come
// after it. The window read at the first write starts at 740 (with the
// object before it, 700..799); the write of 500..649 extends it backwards
// (objects 500..699 and the one before): every id once.
func TestRestartOutOfOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 40, 0, 0, time.UTC)
	apps := testApps[:1]
	cut := func(from, to, n int) []*event.Batch {
		var out []*event.Batch
		for lo := from; lo < to; lo += n {
			b := &event.Batch{}
			for seq := lo; seq < min(lo+n, to); seq++ {
				b.Add(testEventAt(seq, apps[0], t0, time.Second))
			}
			out = append(out, b)
		}
		return out
	}
	st := newStore(t)
	before := newTestSink(t, st.config())
	for _, b := range cut(0, 1000, 100) {
		deliver(t, before, b)
	}
	after := newTestSink(t, st.config())
	bs := cut(500, 1200, 150)
	bs[0], bs[1], bs[2] = bs[2], bs[0], bs[1]
	for _, b := range bs {
		deliver(t, after, b)
	}
	checkOnce(t, idCounts(st.readAll(t)), apps, 0, 1200)
}

// TestMultipart: an object larger than part_size goes up in parts, over
// https with a private CA (tls.ca_file).
func TestMultipart(t *testing.T) {
	st := newStoreTLS(t, true)
	cfg := st.config()
	cfg.TLS.CAFile = st.caFile
	cfg.Compression = CompressionNone
	cfg.PartSize = 5 << 20
	s := newTestSink(t, cfg)
	b := &event.Batch{}
	pad := strings.Repeat("x", 4000)
	for seq := range 1500 {
		e := testEvent(seq, "app_0a1b")
		e.Raw = bytes.Replace(e.Raw, []byte(`"message":"`), []byte(`"message":"`+pad), 1)
		b.Add(e)
	}
	deliver(t, s, b)
	objs := st.readAll(t)
	if len(objs) != 1 {
		t.Fatalf("%d objects", len(objs))
	}
	checkOnce(t, idCounts(objs), []string{"app_0a1b"}, 0, 1500)
}

func TestStartChecksBucket(t *testing.T) {
	st := newStore(t)
	cfg := st.config()
	cfg.Bucket = "no-such-bucket"
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("start: %v", err)
	}
}

func TestCredentialsFromEnvironment(t *testing.T) {
	st := newStore(t)
	cfg := st.config()
	cfg.AccessKeyID, cfg.SecretAccessKey = "", ""
	env := map[string]string{"AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret"}
	s, err := New(cfg, Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, Options{Env: func(string) (string, bool) { return "", false }}); err == nil ||
		strings.Contains(err.Error(), "env-secret") {
		t.Errorf("no credentials: %v", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"defaults", func(c *Config) {}, nil},
		{"no bucket", func(c *Config) { c.Bucket = "" }, []string{"bucket"}},
		{"bad bucket", func(c *Config) { c.Bucket = "a/b" }, []string{"bucket"}},
		{"endpoint with path", func(c *Config) { c.Endpoint = "https://s3.example/x" }, []string{"endpoint"}},
		{"endpoint scheme", func(c *Config) { c.Endpoint = "ftp://s3.example" }, []string{"endpoint"}},
		{"endpoint credentials", func(c *Config) { c.Endpoint = "https://k:s@s3.example" }, []string{"endpoint"}},
		{"plain http endpoint", func(c *Config) { c.Endpoint = "http://127.0.0.1:9000" }, nil},
		{"prefix slash", func(c *Config) { c.Prefix = "/logs" }, []string{"prefix"}},
		{"key without secret", func(c *Config) { c.SecretAccessKey = "" }, []string{"secret_access_key"}},
		{"secret without key", func(c *Config) { c.AccessKeyID = "" }, []string{"access_key_id"}},
		{"compression", func(c *Config) { c.Compression = "brotli" }, []string{"compression"}},
		{"part size", func(c *Config) { c.PartSize = 1 << 20 }, []string{"part_size"}},
		{"timeout", func(c *Config) { c.Timeout = 0 }, []string{"timeout"}},
		{"tls on http", func(c *Config) { c.Endpoint = "http://minio:9000"; c.TLS.InsecureSkipVerify = true }, []string{"tls"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDefaultConfig()
			c.Bucket, c.AccessKeyID, c.SecretAccessKey = "archive", "AKIA-EXAMPLE", "very-secret"
			tc.mod(c)
			var got []string
			for _, p := range c.Validate() {
				got = append(got, p.Path)
				if strings.Contains(p.Message, "very-secret") {
					t.Errorf("message quotes the secret: %s", p)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("problems %v, want %v", got, tc.want)
			}
		})
	}
}
