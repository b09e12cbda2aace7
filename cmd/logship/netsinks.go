package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks/httpsink"
	"github.com/logship/logship/sinks/kafka"
)

// buildNetworkSink constructs the http and kafka sinks and sets their
// retry policy on spec. log is tagged with the sink's name already (as for
// the sinks of the table): the sinks do not add it again.
func buildNetworkSink(sc config.Sink, spec *pipeline.SinkSpec, log *zap.Logger) (pipeline.Sink, error) {
	log = log.With(zap.String("sink", sc.Name))
	switch sc.Type {
	case "http":
		spec.RetryMaxElapsed = sc.HTTP.RetryMaxElapsed
		spec.MinRetry = sc.HTTP.RetryInitialBackoff
		spec.MaxRetry = sc.HTTP.RetryMaxBackoff
		return httpsink.New(sc.HTTP, httpsink.Options{
			Name:      sc.Name,
			Logger:    log,
			InFlight:  max(1, sc.InFlight),
			UserAgent: "logship/" + versionString(),
		})
	case "kafka":
		return kafka.New(sc.Kafka, kafka.Options{
			Name:   sc.Name,
			Logger: log,
			Batch:  spec.Batch,
		})
	}
	return nil, fmt.Errorf("sink type %q is not available in this build", sc.Type)
}
