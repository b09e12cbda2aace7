package syslog

import (
	"io"
	"net"
	"testing"
)

// BenchmarkWriteTCP writes 1000-event batches to a loopback receiver that
// discards what it reads.
func BenchmarkWriteTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	cfg := NewDefaultConfig()
	cfg.Address, cfg.Hostname = ln.Addr().String(), "bench"
	s, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := batchOf(0, 1000)
	b.SetBytes(int64(batch.Bytes))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch.Len())/b.Elapsed().Seconds(), "events/s")
}
