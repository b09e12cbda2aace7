package event

import (
	"bytes"
	"testing"
)

// TestArena: slices do not overlap, appending past one never writes into
// the next, and large ones are allocated on their own.
func TestArena(t *testing.T) {
	var a Arena
	var got [][]byte
	for i := range 100 {
		b := a.Copy(bytes.Repeat([]byte{byte(i)}, 1+i*7%300))
		got = append(got, b)
	}
	_ = append(got[3], 'x', 'y', 'z') // must reallocate
	for i, b := range got {
		if len(b) != 1+i*7%300 || cap(b) != len(b) || bytes.Count(b, []byte{byte(i)}) != len(b) {
			t.Fatalf("slice %d overwritten or wrong: len %d cap %d", i, len(b), cap(b))
		}
	}
	big := a.Alloc(arenaDirect + 1)
	if cap(big) != arenaDirect+1 {
		t.Fatalf("large alloc cap %d", cap(big))
	}
	var nilArena *Arena
	if b := nilArena.Copy([]byte("ab")); string(b) != "ab" {
		t.Fatalf("nil arena copy %q", b)
	}
}

func BenchmarkArenaCopy(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 580)
	var a Arena
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Copy(line)
	}
}
