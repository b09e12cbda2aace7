package httpsink

import "github.com/logship/logship/pipeline"

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Starter = (*Sink)(nil)
)
