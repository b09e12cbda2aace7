package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/gzip"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/logship/logship/emulator"
)

// TestS3EndToEnd backfills two applications through the agent into an
// S3 store (gofakes3 over real HTTP) that answers every third upload with
// 503 SlowDown, with the API stream dropped every ~700 lines; then reads
// every object back: each id of each application once, in objects whose
// keys follow the template.
func TestS3EndToEnd(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("archive"); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend).Server()
	var mu sync.Mutex
	puts, slowDowns := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			puts++
			fail := puts%3 == 0
			if fail {
				slowDowns++
			}
			mu.Unlock()
			if fail {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000), Token: "test-token", Seed: 11,
		Faults: emulator.Faults{DropEvery: 700, DropJitter: 100}})
	apps := emu.Apps()
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf(`sinks:
  - type: s3
    endpoint: %s
    region: us-east-1
    bucket: archive
    prefix: clever
    path_style: true
    access_key_id: test-key
    secret_access_key: test-secret
    batch: {max_events: 700}
`, srv.URL))
	runBackfill(t, yaml, 0)

	objects := 0
	got := archivedIDs(t.Context(), t, srv.URL, func(key, app string) {
		objects++
		parts := strings.Split(key, "/")
		if len(parts) != 7 || parts[0] != "clever" || !strings.HasSuffix(key, ".ndjson.gz") {
			t.Fatalf("key %q does not follow the template", key)
		}
		if app != parts[1] {
			t.Fatalf("%s holds a line of %s", key, app)
		}
	})
	checkArchivedOnce(t, emu, apps, got)
	if slowDowns == 0 {
		t.Error("no upload was refused: the test proves nothing")
	}
	t.Logf("%d objects, %d uploads, %d answered SlowDown", objects, puts, slowDowns)
}

// TestS3SIGKILL archives two paced applications through logship as a
// process, killed with SIGKILL four times, each time after it uploaded
// objects of its own, then run to the end: reading every object back,
// each id of each application is archived exactly once (the sink skips,
// at an application's first write, what its newest objects already hold).
func TestS3SIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("archive"); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend).Server()
	var puts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
	}))
	t.Cleanup(srv.Close)

	emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 29})
	apps := emu.Apps()
	dir := t.TempDir()
	// The checkpoint is saved every 3 s while objects go up every 100 ms
	// and each run is killed within a second of its first upload: a
	// replay spans many objects of each application (tens, over several
	// runs), more than the 4 newest ones the sink read before it derived
	// the replay's objects from the dates (that sink archived 2,300 to
	// 2,800 lines per application twice, 3 runs out of 4).
	yaml := pacedYAML(api, filepath.Join(dir, "state"), apps, fmt.Sprintf(`sinks:
  - type: s3
    endpoint: %s
    region: us-east-1
    bucket: archive
    path_style: true
    access_key_id: test-key
    secret_access_key: test-secret
    batch: {max_events: 500, max_wait: 100ms}
`, srv.URL))
	if !strings.Contains(yaml, "interval: 200ms") {
		t.Fatal("pacedYAML: no checkpoint interval to change")
	}
	cfgPath := writeConfig(t, dir, strings.Replace(yaml, "interval: 200ms", "interval: 3s", 1))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	killAfterProgress(ctx, t, cfgPath, 4, time.Second, puts.Load, nil)
	checkArchivedOnce(t, emu, apps, archivedIDs(ctx, t, srv.URL, nil))
	t.Logf("4 kills, %d uploads", puts.Load())
}

// archivedIDs reads back every object of bucket `archive` at the S3
// endpoint url (gzip NDJSON) and counts each line's id per application;
// object, when not nil, is called for each line with its object's key.
func archivedIDs(ctx context.Context, t *testing.T, url string, object func(key, app string)) map[string]map[string]int {
	t.Helper()
	cl, err := minio.New(strings.TrimPrefix(url, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4("k", "s", ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int{}
	for o := range cl.ListObjects(ctx, "archive", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		obj, err := cl.GetObject(ctx, "archive", o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(obj)
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			app := jsonField(sc.Bytes(), "applicationId")
			if object != nil {
				object(o.Key, app)
			}
			if got[app] == nil {
				got[app] = map[string]int{}
			}
			got[app][jsonField(sc.Bytes(), "id")]++
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		obj.Close()
	}
	return got
}

// checkArchivedOnce checks that got (from archivedIDs) holds each line the
// emulator served for apps exactly once.
func checkArchivedOnce(t *testing.T, emu *emulator.Emulator, apps []emulator.App, got map[string]map[string]int) {
	t.Helper()
	for _, a := range apps {
		want := emu.Lines(a.ID)
		missing, doubled := 0, 0
		for _, l := range want {
			switch n := got[a.ID][l.ID]; {
			case n == 0:
				missing++
			case n > 1:
				doubled += n - 1
			}
		}
		if missing > 0 || doubled > 0 || len(got[a.ID]) != len(want) {
			t.Errorf("app %s: %d of %d ids missing, %d archived again (%d distinct)", a.ID, missing, len(want), doubled, len(got[a.ID]))
		}
	}
}
