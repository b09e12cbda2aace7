package file

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logship/logship/event"
)

// BenchmarkWrite writes 1,000-event batches of 400-byte lines (the
// journal included): ns/op is per event.
func BenchmarkWrite(b *testing.B) {
	for _, fsync := range []string{"batch", "interval", "never"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			s, err := New(withPath(filepath.Join(b.TempDir(), "out.ndjson"), func(c *Config) { c.Fsync = fsync }), Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := &event.Batch{}
			pad := strings.Repeat("x", 300)
			for i := range 1000 {
				id := "0a1b2c3d-" + strconv.Itoa(1_000_000+i) + "-4e5f-6a7b"
				batch.Add(event.Event{ID: id, Source: "app-1", Raw: []byte(`{"id":"` + id + `","date":"2026-11-28T00:00:00.000Z","message":"` + pad + `"}`)})
			}
			b.SetBytes(int64(batch.Bytes / batch.Len()))
			b.ResetTimer()
			for i := 0; i < b.N; i += batch.Len() {
				if err := s.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
