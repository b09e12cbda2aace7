// Package metrics holds logship's Prometheus collectors. The sources, the
// pipeline and the sinks' runners count into them; cmd/logship registers
// them and serves /metrics. Counters are per source, per sink or per
// reason: never per event id or anything unbounded.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics is the set of logship's collectors.
type Metrics struct {
	// Received counts log lines received per source (before dedupe).
	Received *prometheus.CounterVec
	// Sent counts events accepted per sink.
	Sent *prometheus.CounterVec
	// Dropped counts events not delivered to a sink on purpose, per reason
	// (throttle, filter, replayed, malformed, dead_letter...).
	Dropped *prometheus.CounterVec
	// Malformed counts frames skipped per source and kind.
	Malformed *prometheus.CounterVec
	// Reconnects counts stream reconnections per source and reason.
	Reconnects *prometheus.CounterVec
	// SinkErrors counts failed sink writes per sink and kind
	// (retryable, permanent, partial).
	SinkErrors *prometheus.CounterVec
	// DeadLetters counts events written to the dead-letter file per reason.
	DeadLetters *prometheus.CounterVec
	// BufferedBytes is the bytes each sink holds (queued and in flight).
	BufferedBytes *prometheus.GaugeVec
	// CheckpointSaves counts checkpoint files written per source.
	CheckpointSaves *prometheus.CounterVec
	// Connected is 1 while a source's stream is open.
	Connected *prometheus.GaugeVec
	// SentBytes counts the bytes of the events a sink accepted (the events
	// as JSON, before the sink's encoding and compression), per sink.
	SentBytes *prometheus.CounterVec
	// Batches counts the batches a sink accepted whole, per sink.
	Batches *prometheus.CounterVec
	// Retries counts the writes retried after a retryable error, per sink.
	Retries *prometheus.CounterVec
	// WriteDuration is the time of each sink write, failed or not, per sink.
	WriteDuration *prometheus.HistogramVec
	// ReceivedBytes counts the bytes of the log lines received (the
	// APPLICATION_LOG data), per source.
	ReceivedBytes *prometheus.CounterVec
	// ConfigReloads counts configuration reloads (SIGHUP) per result:
	// applied, unchanged, invalid (the running configuration stayed).
	ConfigReloads *prometheus.CounterVec
	// FileOpenErrors counts failed opens of a file sink's file (a reopen
	// after SIGHUP, then each write retrying it), per sink.
	FileOpenErrors *prometheus.CounterVec
	// FileOpen is 1 while a file sink has its file open, 0 while it
	// cannot open it.
	FileOpen *prometheus.GaugeVec
	// EnrichMissing counts lines sent without a part of their enrichment
	// (the API slow, failing or not knowing the id), per part.
	EnrichMissing *prometheus.CounterVec
	// EnrichLookups counts enrichment look-ups per part and result.
	EnrichLookups *prometheus.CounterVec
	// SinkDropped counts events one sink did not get, per sink and reason
	// (buffer_full: its drop_newest buffer was full). Each also counts in
	// Dropped.
	SinkDropped *prometheus.CounterVec
	// SinkSkipped counts replayed events a sink skipped because its own
	// checkpoint already covers them, per sink.
	SinkSkipped *prometheus.CounterVec
	// SourceLag is, per source, now minus the date of the newest line
	// every sink has accepted (or did not owe), in seconds, never negative.
	SourceLag *prometheus.GaugeVec
	// SinkOldestPending is, per sink, the age in seconds of the oldest
	// batch not yet accepted (queued, being written or retried); 0 when
	// none.
	SinkOldestPending *prometheus.GaugeVec
	// CheckpointAge is the time since the checkpoints were last saved, in
	// seconds.
	CheckpointAge prometheus.Gauge
	// TrackerEntries is what the ack tracker holds, per kind: "ranges"
	// (undelivered chunks) and "ids" (kept for the look-back windows).
	TrackerEntries *prometheus.GaugeVec
	// Discovered is the number of applications a discovering source
	// follows.
	Discovered *prometheus.GaugeVec
	// DiscoverListings counts discovery's listings per source and result.
	DiscoverListings *prometheus.CounterVec
	// SinkTruncated counts events a sink sent cut to its receiver's size
	// limit (syslog's max_message_bytes), per sink.
	SinkTruncated *prometheus.CounterVec
	// SinkRejected counts events a receiver reported as refused without
	// saying which (an OTLP partial success), so that they could not be
	// dead-lettered, per sink.
	SinkRejected *prometheus.CounterVec
	// ThrottleWait counts the time the throttle (pipeline.throttle, mode
	// block) held the sources back.
	ThrottleWait prometheus.Counter
}

// New returns a fresh set of collectors, not registered anywhere.
func New() *Metrics {
	return &Metrics{
		ThrottleWait: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logship_throttle_wait_seconds_total", Help: "Time the sources spent blocked by the throttle (pipeline.throttle, mode block).",
		}),
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_events_received_total", Help: "Log lines received from the API, per source.",
		}, []string{"source"}),
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_events_sent_total", Help: "Events accepted by a sink, per sink.",
		}, []string{"sink"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_events_dropped_total", Help: "Events not delivered on purpose, per reason.",
		}, []string{"reason"}),
		Malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_frames_malformed_total", Help: "Stream frames skipped as malformed, per source and kind.",
		}, []string{"source", "kind"}),
		Reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_stream_reconnects_total", Help: "Stream reconnections, per source and reason.",
		}, []string{"source", "reason"}),
		SinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_errors_total", Help: "Failed sink writes, per sink and kind.",
		}, []string{"sink", "kind"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_dead_letters_total", Help: "Events written to the dead-letter file, per reason.",
		}, []string{"reason"}),
		BufferedBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_sink_buffered_bytes", Help: "Bytes of events held for a sink (queued and in flight).",
		}, []string{"sink"}),
		CheckpointSaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_checkpoint_saves_total", Help: "Checkpoint files written, per source.",
		}, []string{"source"}),
		Connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_source_connected", Help: "1 while the source's stream is open.",
		}, []string{"source"}),
		SentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_sent_bytes_total", Help: "Bytes of the events a sink accepted (JSON, before encoding and compression), per sink.",
		}, []string{"sink"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_batches_sent_total", Help: "Batches a sink accepted whole, per sink.",
		}, []string{"sink"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_retries_total", Help: "Sink writes retried after a retryable error, per sink.",
		}, []string{"sink"}),
		WriteDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "logship_sink_write_duration_seconds", Help: "Time of each sink write (one batch), failed or not, per sink.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"sink"}),
		ReceivedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_received_bytes_total", Help: "Bytes of the log lines received from the API (event data), per source.",
		}, []string{"source"}),
		ConfigReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_config_reloads_total", Help: "Configuration reloads (SIGHUP), per result: applied, unchanged, invalid.",
		}, []string{"result"}),
		FileOpenErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_file_open_errors_total", Help: "Failed opens of a file sink's file (reopen, then each retry), per sink.",
		}, []string{"sink"}),
		FileOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_file_open", Help: "1 while a file sink has its file open, 0 while it cannot open it.",
		}, []string{"sink"}),
		EnrichMissing: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_enrich_missing_total", Help: "Lines sent without a part of their enrichment, per part.",
		}, []string{"part"}),
		EnrichLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_enrich_lookups_total", Help: "Enrichment look-ups of the API, per part and result.",
		}, []string{"part", "result"}),
		SinkDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_events_dropped_total", Help: "Events a sink did not get, per sink and reason (buffer_full: when_full drop_newest).",
		}, []string{"sink", "reason"}),
		SinkSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_events_skipped_total", Help: "Replayed events a sink skipped because its own checkpoint covers them, per sink.",
		}, []string{"sink"}),
		SourceLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_source_lag_seconds", Help: "Now minus the date of the newest line every sink has accepted, per source (never negative).",
		}, []string{"source"}),
		SinkOldestPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_sink_oldest_pending_seconds", Help: "Age of the oldest batch a sink has not accepted yet (0: none), per sink.",
		}, []string{"sink"}),
		CheckpointAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logship_checkpoint_age_seconds", Help: "Time since the checkpoints were last saved.",
		}),
		TrackerEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_ack_tracker_entries", Help: "What the ack tracker holds, per kind: undelivered ranges, and ids kept for the look-back windows.",
		}, []string{"kind"}),
		Discovered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_discovered_applications", Help: "Applications a discovering source follows.",
		}, []string{"source"}),
		DiscoverListings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_discover_listings_total", Help: "Listings of an owner's applications, per source and result.",
		}, []string{"source", "result"}),
		SinkTruncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_truncated_total", Help: "Events sent cut to the receiver's size limit, per sink.",
		}, []string{"sink"}),
		SinkRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_sink_rejected_total", Help: "Events a receiver refused without saying which (not dead-lettered), per sink.",
		}, []string{"sink"}),
	}
}

// Register registers every collector with r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.ThrottleWait, m.Received, m.Sent, m.Dropped, m.Malformed,
		m.Reconnects, m.SinkErrors, m.DeadLetters, m.BufferedBytes, m.CheckpointSaves, m.Connected,
		m.FileOpenErrors, m.FileOpen, m.EnrichMissing, m.EnrichLookups,
		m.SinkDropped, m.SinkSkipped, m.SourceLag, m.SinkOldestPending, m.CheckpointAge, m.TrackerEntries, m.ConfigReloads,
		m.SentBytes, m.Batches, m.Retries, m.WriteDuration, m.ReceivedBytes,
		m.Discovered, m.DiscoverListings, m.SinkTruncated, m.SinkRejected} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
