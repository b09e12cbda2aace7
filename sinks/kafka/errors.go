package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/logship/logship/event"
)

// verdict is what to do with a message that kafka-go could not deliver.
type verdict int

const (
	retryIt  verdict = iota // write it again later
	rejectIt                // refused for good: dead-letter it
	tooLarge                // its batch was too large: isolate it to know
)

// classify sorts the error kafka-go gave for one message.
func classify(err error) verdict {
	var ke kafkago.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafkago.MessageSizeTooLarge, kafkago.RecordListTooLarge:
			return tooLarge
		case kafkago.InvalidTimestamp, kafkago.InvalidRecord:
			return rejectIt
		}
	}
	return retryIt
}

// result gathers the outcome of one Write.
type result struct {
	total    int // events in the batch
	retry    []int
	rejected []event.Rejection
	// first is the first retryable error, for the message.
	first error
	// abandoned is set when kafka-go may still read the messages' bytes.
	abandoned bool
}

func (r *result) reject(i int, reason string) {
	r.rejected = append(r.rejected, event.Rejection{Index: i, Reason: reason})
}

func (r *result) again(i int, topic string, err error) {
	r.retry = append(r.retry, i)
	if r.first == nil {
		r.first = fmt.Errorf("produce to %s: %w", topic, err)
	}
}

// err returns the Write's error: nil when every event was accepted, a plain
// (retryable) error when every event must be written again, an
// *event.PartialError otherwise.
func (r *result) err(s *Sink) error {
	if len(r.retry) == 0 && len(r.rejected) == 0 {
		return nil
	}
	if len(r.rejected) == 0 && len(r.retry) == r.total {
		return s.describe(r.first)
	}
	slices.Sort(r.retry)
	slices.SortFunc(r.rejected, func(a, b event.Rejection) int { return a.Index - b.Index })
	pe := &event.PartialError{Retry: r.retry, Rejected: r.rejected}
	if r.first != nil {
		pe.Err = fmt.Errorf("%d of %d events to retry, %d refused: %w",
			len(r.retry), r.total, len(r.rejected), s.describe(r.first))
	} else {
		pe.Err = fmt.Errorf("%d of %d events refused by kafka", len(r.rejected), r.total)
	}
	return pe
}

// describe wraps err, from kafka-go, with what it means for an operator.
// inLogin says that a SASL login was cut short (a broker that refuses a
// login may just close the connection). It never includes a secret.
func describe(err error, cfg Config, inLogin bool) error {
	var (
		ke       kafkago.Error
		x509Unk  x509.UnknownAuthorityError
		x509Host x509.HostnameError
		x509Inv  x509.CertificateInvalidError
		tlsHdr   tls.RecordHeaderError
		tlsAlert tls.AlertError
		opErr    *net.OpError
	)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("kafka: %w", err)
	case errors.Is(err, errUnknownTopic):
		return err
	case inLogin && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		return fmt.Errorf("kafka: sasl login refused for user %q (mechanism %s): a broker closed the connection during the login: %w",
			cfg.SASL.Username, cfg.SASL.Mechanism, err)
	case errors.As(err, &ke) && (ke == kafkago.SASLAuthenticationFailed || ke == kafkago.IllegalSASLState):
		return fmt.Errorf("kafka: sasl login refused for user %q (mechanism %s): %w", cfg.SASL.Username, cfg.SASL.Mechanism, err)
	case errors.As(err, &ke) && ke == kafkago.UnsupportedSASLMechanism:
		return fmt.Errorf("kafka: the brokers do not accept sasl mechanism %s: %w", cfg.SASL.Mechanism, err)
	case errors.As(err, &ke) && (ke == kafkago.TopicAuthorizationFailed || ke == kafkago.ClusterAuthorizationFailed):
		return fmt.Errorf("kafka: not authorized (check the ACLs of user %q): %w", cfg.SASL.Username, err)
	case errors.As(err, &x509Unk), errors.As(err, &x509Host), errors.As(err, &x509Inv),
		errors.As(err, &tlsHdr), errors.As(err, &tlsAlert):
		return fmt.Errorf("kafka: tls with the brokers failed: %w", err)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("kafka: no broker reachable at %s: %w", strings.Join(cfg.Brokers, ","), err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if !cfg.TLS.On() || cfg.SASL.Mechanism == "" {
			return fmt.Errorf("kafka: a broker closed the connection (does it require TLS or SASL?): %w", err)
		}
		return fmt.Errorf("kafka: a broker closed the connection: %w", err)
	default:
		return fmt.Errorf("kafka: %w", err)
	}
}

// isUnreachable reports whether err says only that the brokers could not
// be reached (yet): not a configuration error.
func isUnreachable(err error) bool {
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	return false
}
