package httpsink

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compressor compresses a whole request body. It is safe for concurrent use.
type compressor interface {
	// encoding is the Content-Encoding value.
	encoding() string
	// compress appends the compressed form of src to dst.
	compress(dst, src []byte) ([]byte, error)
}

func newCompressor(name string) (compressor, error) {
	switch name {
	case "", "none":
		return nil, nil
	case "gzip":
		return &gzipCompressor{}, nil
	case "zstd":
		// EncodeAll may be called concurrently; the encoder keeps its state
		// between calls. Creating it does no I/O.
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zstdCompressor{enc}, nil
	default:
		return nil, fmt.Errorf("unknown compression %q", name)
	}
}

type gzipCompressor struct{ writers sync.Pool }

func (*gzipCompressor) encoding() string { return "gzip" }

// gzipWriter is a pooled gzip writer with the buffer it writes to.
type gzipWriter struct {
	w   *gzip.Writer
	out appendWriter
}

func (g *gzipCompressor) compress(dst, src []byte) ([]byte, error) {
	gw, _ := g.writers.Get().(*gzipWriter)
	if gw == nil {
		gw = &gzipWriter{}
		gw.w = gzip.NewWriter(&gw.out)
	} else {
		gw.w.Reset(&gw.out)
	}
	gw.out.b = dst
	_, err := gw.w.Write(src)
	if cerr := gw.w.Close(); err == nil {
		err = cerr
	}
	out := gw.out.b
	gw.out.b = nil
	g.writers.Put(gw)
	if err != nil {
		return dst, fmt.Errorf("gzip: %w", err)
	}
	return out, nil
}

type zstdCompressor struct{ enc *zstd.Encoder }

func (zstdCompressor) encoding() string { return "zstd" }

func (z zstdCompressor) compress(dst, src []byte) ([]byte, error) {
	return z.enc.EncodeAll(src, dst), nil
}

// appendWriter is an io.Writer that appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
