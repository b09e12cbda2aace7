package httpsink

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/logship/logship/event"
)

// chunker is an encoder whose receiver bounds a request: a batch goes out
// in as many requests as the limits ask (datadog, newrelic). The body is a
// list of entries, one per event.
type chunker interface {
	encoder
	limits() chunkLimits
	// appendEntry appends ev's entry.
	appendEntry(dst []byte, ev *event.Event, sc *scratch) []byte
	// wrap appends a body holding entries, which are comma-joined.
	wrap(dst, entries []byte) []byte
}

// chunkLimits are a receiver's bounds; 0 is no bound.
type chunkLimits struct {
	maxEntries int // entries per request
	maxBody    int // body bytes per request, before compression
	maxEntry   int // bytes of one entry
	maxWire    int // body bytes per request as sent (after compression)
}

// answerReader is an encoding whose receiver answers a 2xx with something
// to read (OTLP's partial success), and whose error answers have their own
// shape.
type answerReader interface {
	// readAnswer reads a 2xx answer to a request of n events: nil, or an
	// event.Permanent refusal. Events refused without saying which are
	// reported to onRejected.
	readAnswer(body []byte, contentType string, n int, onRejected func(int, string)) error
	// errorText returns the text to quote from an error answer.
	errorText(body []byte, contentType string) []byte
}

// entryOverhead bounds the bytes a body adds around its entries.
const entryOverhead = 512

// writeChunked sends evs in requests within ch's limits, in order. An
// entry larger than the per-entry limit, or alone larger than the request
// limit once compressed, is refused for good (dead-letter). A request
// refused for good refuses its events; one that fails with a retryable
// error stops the Write: its events and those of the requests not yet sent
// are to be retried. The result is nil, the retryable error when nothing
// was sent, or an *event.PartialError.
func (s *Sink) writeChunked(ctx context.Context, evs []event.Event, ch chunker) error {
	lim := ch.limits()
	eb := s.bufs.Get().(*writeBuf)
	defer s.putBuf(eb)
	entries, ends, ok := eb.entries[:0], eb.ends[:0], eb.ok[:0]
	var rejected []event.Rejection
	for i := range evs {
		start := len(entries)
		if len(ok) > 0 {
			entries = append(entries, ',')
		}
		entries = ch.appendEntry(entries, &evs[i], &eb.sc)
		if size := len(entries) - start; lim.maxEntry > 0 && size > lim.maxEntry {
			rejected = append(rejected, event.Rejection{Index: i,
				Reason: fmt.Sprintf("entry of %d bytes is larger than the receiver's limit of %d bytes per entry", size, lim.maxEntry)})
			entries = entries[:start]
			continue
		}
		ok = append(ok, i)
		ends = append(ends, len(entries))
	}
	eb.entries, eb.ends, eb.ok = entries, ends, ok
	startOf := func(p int) int { // where entry p starts (after its comma)
		if p == 0 {
			return 0
		}
		return ends[p-1] + 1
	}

	// Cut the entries into spans [a, b) within maxEntries and maxBody.
	type span struct{ a, b int }
	var queue []span
	a := 0
	for p := range ok {
		if p > a && ((lim.maxEntries > 0 && p-a >= lim.maxEntries) ||
			(lim.maxBody > 0 && ends[p]-startOf(a)+entryOverhead > lim.maxBody)) {
			queue = append(queue, span{a, p})
			a = p
		}
	}
	if a < len(ok) {
		queue = append(queue, span{a, len(ok)})
	}

	var retry []int
	var lastErr error
	chunk := eb.chunk[:0]
	defer func() { clear(chunk); eb.chunk = chunk[:0] }() // keep no event past the Write
	for len(queue) > 0 {
		sp := queue[0]
		queue = queue[1:]
		wb := s.bufs.Get().(*writeBuf)
		wb.body = ch.wrap(wb.body[:0], entries[startOf(sp.a):ends[sp.b-1]])
		if lim.maxWire > 0 {
			data, err := s.compressed(wb)
			if err != nil {
				s.putBuf(wb)
				return err
			}
			if len(data) > lim.maxWire {
				s.putBuf(wb)
				if sp.b-sp.a > 1 {
					mid := (sp.a + sp.b) / 2
					queue = append([]span{{sp.a, mid}, {mid, sp.b}}, queue...)
					continue
				}
				rejected = append(rejected, event.Rejection{Index: ok[sp.a],
					Reason: fmt.Sprintf("entry of %d bytes as sent is larger than the receiver's limit of %d bytes per request", len(data), lim.maxWire)})
				continue
			}
			wb.wireReady = true
		}
		chunk = chunk[:0]
		for _, i := range ok[sp.a:sp.b] {
			chunk = append(chunk, evs[i])
		}
		err := s.post(ctx, wb, chunk)
		switch {
		case err == nil:
		case event.IsPermanent(err):
			for _, i := range ok[sp.a:sp.b] {
				rejected = append(rejected, event.Rejection{Index: i, Reason: err.Error()})
			}
		default:
			lastErr = err
			retry = append(retry, ok[sp.a:sp.b]...)
			for _, rest := range queue {
				retry = append(retry, ok[rest.a:rest.b]...)
			}
			queue = nil
		}
	}
	if len(rejected) == 0 && len(retry) == 0 {
		return nil
	}
	if len(rejected) == 0 && len(retry) == len(evs) {
		return lastErr
	}
	slices.Sort(retry)
	slices.SortFunc(rejected, func(x, y event.Rejection) int { return x.Index - y.Index })
	if lastErr == nil {
		lastErr = errors.New("some entries refused for good")
	}
	return &event.PartialError{Retry: retry, Rejected: rejected, Err: lastErr}
}
