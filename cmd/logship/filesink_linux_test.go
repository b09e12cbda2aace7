//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/logship/logship/emulator"
)

// TestFileShortWriteEndToEnd (issue 8 case 5): logship runs a backfill into
// the file sink; midway its file-size limit (RLIMIT_FSIZE, set from outside
// with prlimit) falls just ahead of the file's end, so the sink's writes
// come out short (EFBIG) and the lane retries them with its backoff. Once
// the limit is lifted the backfill completes: every line is whole JSON,
// once, in stream order.
func TestFileShortWriteEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 31})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "logs.ndjson")
	y := pacedYAML(api, filepath.Join(dir, "state"), apps, "sinks:\n  - type: file\n    path: "+out+"\n")
	y = strings.Replace(y, "level: warn", "level: info", 1)
	cfgPath := writeConfig(t, dir, y)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := logshipCmd(ctx, "run", "--config", cfgPath)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	size := func() int64 {
		st, err := os.Stat(out)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	waitFor(t, 30*time.Second, func() bool { return size() >= 100<<10 })
	var lim unix.Rlimit
	if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_FSIZE, nil, &lim); err != nil {
		t.Fatal(err)
	}
	unlimited := lim
	lim.Cur = uint64(size()) + 20<<10
	if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool {
		s := stderr.String()
		return strings.Contains(s, "sink write failed; retrying") && strings.Contains(s, "file too large")
	})
	time.Sleep(500 * time.Millisecond) // a few more retries against the limit
	if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_FSIZE, &unlimited, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v: %s", err, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if !json.Valid(line) {
			t.Fatalf("line %d is torn: %.200s", i+1, line)
		}
	}
	checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
}
