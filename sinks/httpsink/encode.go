package httpsink

import (
	"fmt"

	"github.com/logship/logship/event"
)

// encoder turns a batch into a request body. An encoder is read-only after
// construction and safe for concurrent use; per-call memory is in scratch.
type encoder interface {
	contentType() string
	// encode appends the body for evs to dst.
	encode(dst []byte, evs []event.Event, sc *scratch) []byte
	// fields are the event fields the encoder reads (for the scanner).
	fields() []string
}

// scratch is the reusable memory of one Write.
type scratch struct {
	scan *event.FieldReader
	tmp  []byte
	tag  []byte
	loki lokiState
	otlp otlpState
}

func newEncoder(cfg Config, userAgent string) (encoder, error) {
	switch cfg.Encoding {
	case "", EncodingNDJSON:
		return ndjson{}, nil
	case EncodingJSONArray:
		return jsonArray{}, nil
	case EncodingESBulk:
		return newBulkEncoder(cfg.Elasticsearch)
	case EncodingLoki:
		return newLokiEncoder(cfg.Loki)
	case EncodingOTLP:
		return newOTLPEncoder(cfg.OTLP, userAgent), nil
	case EncodingDatadog:
		return newDatadogEncoder(cfg.Datadog)
	case EncodingNewRelic:
		return newNewRelicEncoder(cfg.NewRelic, cfg.Compression != "" && cfg.Compression != "none"), nil
	default:
		return nil, fmt.Errorf("unknown encoding %q", cfg.Encoding)
	}
}

// ndjson writes one raw event per line.
type ndjson struct{}

func (ndjson) contentType() string { return "application/x-ndjson" }
func (ndjson) fields() []string    { return nil }

func (ndjson) encode(dst []byte, evs []event.Event, _ *scratch) []byte {
	for i := range evs {
		dst = append(dst, evs[i].Raw...)
		dst = append(dst, '\n')
	}
	return dst
}

// jsonArray writes the events as one JSON array.
type jsonArray struct{}

func (jsonArray) contentType() string { return "application/json" }
func (jsonArray) fields() []string    { return nil }

func (jsonArray) encode(dst []byte, evs []event.Event, _ *scratch) []byte {
	dst = append(dst, '[')
	for i := range evs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, evs[i].Raw...)
	}
	return append(dst, ']')
}
