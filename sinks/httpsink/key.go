package httpsink

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/logship/logship/event"
)

// IdempotencyHeader is the request header that carries IdempotencyKey.
const IdempotencyHeader = "Idempotency-Key"

// IdempotencyKey returns the key sent with a batch: 32 hex digits of a
// SHA-256 over the sink's name, the number of events, and the source,
// application id and event id of the first and the last event. The pipeline
// retries a batch with the same events, so every attempt carries the same
// key and a receiver can drop a replay; a partial retry (a subset of the
// events) is a different batch with its own key. Empty batches have no key.
func IdempotencyKey(sink string, evs []event.Event) string {
	if len(evs) == 0 {
		return ""
	}
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		h.Write(binary.BigEndian.AppendUint64(n[:0], uint64(len(s))))
		h.Write([]byte(s))
	}
	field(sink)
	h.Write(binary.BigEndian.AppendUint64(n[:0], uint64(len(evs))))
	for _, e := range [2]*event.Event{&evs[0], &evs[len(evs)-1]} {
		field(e.Source)
		field(e.AppID)
		field(e.ID)
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}
