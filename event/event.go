// Package event is logship's shared vocabulary: the Event that travels from a
// source to the sinks, the Batch a sink receives, the errors a sink returns to
// say whether a refusal is worth retrying, and the Position that resumes a
// stream. It imports nothing of logship's and every other package imports it.
package event

import "time"

// Event is one application log line on its way from a source to the sinks.
//
// An Event is a small value; copying it copies no log data.
type Event struct {
	// Raw is the log line as one JSON object, exactly as the API sent it or
	// as a pipeline stage rebuilt it, without a trailing newline. It is
	// read-only: it may share memory with other events or with the source's
	// read buffer, so a stage that changes an event builds a new slice.
	Raw []byte
	// ID is the API's id of the line: opaque, unique within an application,
	// not sortable.
	ID string
	// Date is the line's `date` in Unix nanoseconds.
	Date int64
	// Source is the name of the source (stream) the line came from.
	Source string
	// AppID is the Clever Cloud application id of that source.
	AppID string
	// SourceIndex and Seq identify the event to the ack tracker: SourceIndex is the
	// source's index, Seq its position in that source's stream (from 1,
	// without gaps). Sinks neither read nor change them.
	SourceIndex int
	Seq         uint64
}

// Time returns Date as a time.Time in UTC.
func (e *Event) Time() time.Time { return time.Unix(0, e.Date).UTC() }

// Batch is what a sink receives: events in stream order (per source), with
// their total size.
//
// The pipeline owns a Batch: a sink may read it during Write and must not
// keep it, or any Raw slice of it, after Write returns.
type Batch struct {
	Events []Event
	// Bytes is the sum of len(Raw) over Events.
	Bytes int
}

// Add appends e to the batch and counts its bytes.
func (b *Batch) Add(e Event) {
	b.Events = append(b.Events, e)
	b.Bytes += len(e.Raw)
}

// Len returns the number of events in the batch.
func (b *Batch) Len() int { return len(b.Events) }

// Reset empties the batch, keeping its capacity.
func (b *Batch) Reset() {
	clear(b.Events)
	b.Events = b.Events[:0]
	b.Bytes = 0
}
