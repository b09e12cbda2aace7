package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks/kafka"
)

// buildNetworkSink constructs the kafka sink. log is tagged with the sink's name already (as for
// the sinks of the table): the sinks do not add it again.
func buildNetworkSink(sc config.Sink, spec *pipeline.SinkSpec, log *zap.Logger) (pipeline.Sink, error) {
	log = log.With(zap.String("sink", sc.Name))
	switch sc.Type {
	case "kafka":
		return kafka.New(sc.Kafka, kafka.Options{
			Name:   sc.Name,
			Logger: log,
			Batch:  spec.Batch,
		})
	}
	return nil, fmt.Errorf("sink type %q is not available in this build", sc.Type)
}
