package source

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	sse "github.com/tmaxmax/go-sse"
)

// readFrames reads every frame of stream through a frameReader of limit,
// fed by r (a whole-stream reader when nil).
func readFrames(t testing.TB, stream string, limit int, wrap func(io.Reader) io.Reader) ([]frame, error) {
	var r io.Reader = strings.NewReader(stream)
	if wrap != nil {
		r = wrap(r)
	}
	fr := newFrameReader(r, limit)
	var out []frame
	for {
		f, err := fr.next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		// The slices are the reader's: copy them, as a caller must.
		f.Type = bytes.Clone(f.Type)
		f.Data = bytes.Clone(f.Data)
		f.ID = bytes.Clone(f.ID)
		out = append(out, f)
		if len(out) > 1<<16 {
			t.Fatal("no end")
		}
	}
}

func TestFrameReader(t *testing.T) {
	type fr struct{ typ, data, id string }
	big := strings.Repeat("x", 300)
	tests := []struct {
		name   string
		stream string
		limit  int
		want   []fr // id "-" means the frame had no id line
		over   int  // index of the oversize frame, -1 if none
	}{
		{"lf", "event: A\nid: 1\ndata: {\"a\":1}\n\n", 0, []fr{{"A", `{"a":1}`, "1"}}, -1},
		{"crlf", "event: A\r\nid: 1\r\ndata: x\r\n\r\nevent: B\r\ndata: y\r\n\r\n", 0, []fr{{"A", "x", "1"}, {"B", "y", "-"}}, -1},
		{"cr", "event: A\rdata: x\r\rdata: y\r\r", 0, []fr{{"A", "x", "-"}, {"", "y", "-"}}, -1},
		{"no space after colon", "event:A\ndata:x\n\n", 0, []fr{{"A", "x", "-"}}, -1},
		{"two spaces keep one", "data:  x\n\n", 0, []fr{{"", " x", "-"}}, -1},
		{"multi-line data", "data: {\"a\":\ndata: 1}\ndata:\n\n", 0, []fr{{"", "{\"a\":\n1}\n", "-"}}, -1},
		{"field without colon", "data\n\nevent\ndata: x\n\n", 0, []fr{{"", "", "-"}, {"", "x", "-"}}, -1},
		{"comments and unknown fields ignored", ": hello\nfoo: bar\ndata: x\n: again\n\n:only comments\n\n", 0, []fr{{"", "x", "-"}}, -1},
		{"retry ignored", "retry: 1000\n\nretry: 5\ndata: x\n\n", 0, []fr{{"", "x", "-"}}, -1},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n", 0, []fr{{"", "x", "-"}}, -1},
		{"empty id is an id", "id:\nevent: HEARTBEAT\n\n", 0, []fr{{"HEARTBEAT", "", ""}}, -1},
		{"event alone dispatches", "event: HEARTBEAT\n\n", 0, []fr{{"HEARTBEAT", "", "-"}}, -1},
		{"blank lines between frames", "\n\n\r\ndata: x\n\n\n\ndata: y\n\n", 0, []fr{{"", "x", "-"}, {"", "y", "-"}}, -1},
		{"bom dropped at start", "\xEF\xBB\xBFdata: x\n\n", 0, []fr{{"", "x", "-"}}, -1},
		{"incomplete last frame discarded", "data: x\n\ndata: y\n", 0, []fr{{"", "x", "-"}}, -1},
		{"incomplete last line discarded", "data: x\n\ndata: y", 0, []fr{{"", "x", "-"}}, -1},
		{"final cr ends a line", "data: x\r\r", 0, []fr{{"", "x", "-"}}, -1},
		{"oversize frame skipped", "data: a\n\nevent: A\nid: 7\ndata: " + big + "\ndata: " + big + "\n\ndata: b\n\n", 256,
			[]fr{{"", "a", "-"}, {"A", "", "7"}, {"", "b", "-"}}, 1},
		{"oversize crlf line longer than the buffer", "data: " + big + big + "\r\n\r\ndata: b\r\n\r\n", 128,
			[]fr{{"", "", "-"}, {"", "b", "-"}}, 0},
	}
	wraps := map[string]func(io.Reader) io.Reader{
		"whole":    nil,
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for wn, wrap := range wraps {
			t.Run(tt.name+"/"+wn, func(t *testing.T) {
				limit := tt.limit
				if limit == 0 {
					limit = 1 << 20
				}
				got, err := readFrames(t, tt.stream, limit, wrap)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d frames %+v, want %d", len(got), got, len(tt.want))
				}
				for i, w := range tt.want {
					g := got[i]
					id := string(g.ID)
					if !g.HasID {
						id = "-"
					}
					if string(g.Type) != w.typ || string(g.Data) != w.data || id != w.id || g.Oversize != (i == tt.over) {
						t.Fatalf("frame %d = {%q %q %q oversize %v}, want %q (oversize at %d)", i, g.Type, g.Data, id, g.Oversize, w, tt.over)
					}
				}
			})
		}
	}
}

// TestFrameReaderError: a read error ends the frames with that error, after
// the complete frames before it.
func TestFrameReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: x\n\ndata: y\n"), iotest.ErrReader(boom))
	fr := newFrameReader(r, 1<<20)
	f, err := fr.next()
	if err != nil || string(f.Data) != "x" {
		t.Fatalf("first = %q, %v", f.Data, err)
	}
	if _, err := fr.next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

// FuzzFrameReader compares frameReader with go-sse's sse.Read (the
// reference parser) on the same stream, read whole and byte by byte.
func FuzzFrameReader(f *testing.F) {
	for _, s := range []string{
		"event: APPLICATION_LOG\nid: 1\ndata: {\"a\":1}\n\n",
		"event: A\r\nid: 1\r\ndata: x\r\n\r\n",
		"event:A\rdata:x\r\r",
		"data: a\ndata: b\n\n: c\n\nid\n\n",
		"\xEF\xBB\xBF\ndata: x\n\n",
		"retry: 3\nid: a\x00\ndata\n\n",
		"\n\r\n\rdata: x\r\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		type ev struct{ typ, data, last string }
		var want []ev
		for e, err := range sse.Read(strings.NewReader(stream), &sse.ReadConfig{MaxEventSize: 1 << 20}) {
			if err != nil {
				t.Skip("go-sse refused it:", err)
			}
			want = append(want, ev{e.Type, e.Data, e.LastEventID})
		}
		for _, wrap := range []func(io.Reader) io.Reader{nil, iotest.OneByteReader} {
			frames, err := readFrames(t, stream, 1<<20, wrap)
			if err != nil {
				t.Fatal(err)
			}
			var got []ev
			last := ""
			for _, fr := range frames {
				if fr.HasID {
					last = string(fr.ID)
				}
				got = append(got, ev{string(fr.Type), string(fr.Data), last})
			}
			if len(got) != len(want) {
				t.Fatalf("%q: got %d frames %q, go-sse %d %q", stream, len(got), got, len(want), want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%q: frame %d = %q, go-sse %q", stream, i, got[i], want[i])
				}
			}
		}
	})
}
