package emulator

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"
)

// BenchmarkStream measures one backfill stream served over loopback HTTP to a reader that
// only counts frames; b.N is the number of lines. Run:
//
//	go test ./emulator -run '^$' -bench Stream -benchtime 2000000x
func BenchmarkStream(b *testing.B) {
	for _, bc := range []struct {
		name  string
		style Style
	}{
		{"default", Style{}},
		{"crlf-split", Style{CRLF: true, SplitData: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, srv := start(b, Options{Apps: []App{{Backlog: b.N, Spacing: time.Millisecond}}, Style: bc.style})
			app := e.Apps()[0]
			e.byID[app.ID].records(0, int64(b.N)) // generate outside the timer
			u := logsURL(srv, app, fast(app.Start.Add(-time.Hour), time.Time{}))
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			resp := get(b, b.Context(), u, nil)
			n, bytesRead := countFrames(b, resp.Body, b.N)
			resp.Body.Close()
			el := time.Since(t0)
			b.StopTimer()
			if n != b.N {
				b.Fatalf("read %d lines, want %d", n, b.N)
			}
			b.ReportMetric(float64(n)/el.Seconds(), "lines/s")
			b.ReportMetric(float64(bytesRead)/el.Seconds()/1e6, "MB/s")
		})
	}
}

// countFrames counts APPLICATION_LOG frames until want of them were read.
func countFrames(b *testing.B, r io.Reader, want int) (n int, read int64) {
	br := bufio.NewReaderSize(r, 256<<10)
	marker := []byte("event: APPLICATION_LOG")
	for n < want {
		line, err := br.ReadSlice('\n')
		read += int64(len(line))
		if bytes.HasPrefix(line, marker) {
			n++
		}
		if err != nil {
			if err != bufio.ErrBufferFull {
				b.Fatalf("after %d lines: %v", n, err)
			}
		}
	}
	return n, read
}

// BenchmarkRenderLine measures the JSON assembly of one line (no allocation expected).
func BenchmarkRenderLine(b *testing.B) {
	e := New(Options{Apps: []App{{Backlog: 4096}}})
	a := e.apps[0]
	recs := a.records(0, 4096)
	var df dateFormatter
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	var size int
	for i := 0; b.Loop(); i++ {
		p := i & 4095
		buf = a.frag.appendFull(buf[:0], int64(p), recs[p], &df)
		size += len(buf)
	}
	_ = size
}

// BenchmarkGenerate measures the generation of one line record.
func BenchmarkGenerate(b *testing.B) {
	e := New(Options{Apps: []App{{Backlog: b.N}}})
	b.ReportAllocs()
	b.ResetTimer()
	e.apps[0].records(0, int64(b.N))
}
