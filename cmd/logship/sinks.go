package main

import (
	"github.com/logship/logship/sinks"
	"github.com/logship/logship/sinks/file"
	"github.com/logship/logship/sinks/httpsink"
	"github.com/logship/logship/sinks/kafka"
	"github.com/logship/logship/sinks/s3"
	"github.com/logship/logship/sinks/stdout"
	"github.com/logship/logship/sinks/syslog"
)

// sinkTable is every sink type of this build, in the order users see them.
// A new sink type is one package and one line here.
var sinkTable = sinks.Table{
	stdout.Factory(),
	file.Factory(),
	httpsink.Factory(),
	kafka.Factory(),
	syslog.Factory(),
	s3.Factory(),
}
