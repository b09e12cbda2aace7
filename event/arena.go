package event

// Arena hands out the memory of events' Raw slices: it carves them out of
// chunks it allocates, so that lines cost one allocation per chunk rather
// than one each. A chunk is never written again once handed out, and the
// garbage collector frees it once no event refers to it: an event from an
// Arena may be kept as long as any other. An Arena is not safe for
// concurrent use (each source has its own); the zero value is ready.
type Arena struct {
	chunk []byte
}

// Chunk sizes: a chunk is held while any of its lines is, and every
// stream has one that is filling, so they stay small; a line larger than
// arenaDirect gets an allocation of its own.
const (
	arenaChunk  = 8 << 10
	arenaDirect = arenaChunk / 4
)

// Alloc returns an empty slice with room for exactly n bytes, to append
// to: appending more than n reallocates, never overwriting another line.
// A nil Arena allocates each slice on its own.
func (a *Arena) Alloc(n int) []byte {
	if a == nil || n > arenaDirect {
		return make([]byte, 0, n)
	}
	if cap(a.chunk)-len(a.chunk) < n {
		a.chunk = make([]byte, 0, arenaChunk)
	}
	l := len(a.chunk)
	a.chunk = a.chunk[:l+n]
	return a.chunk[l : l : l+n]
}

// Copy returns a copy of b in the arena.
func (a *Arena) Copy(b []byte) []byte { return append(a.Alloc(len(b)), b...) }
