package syslog

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
)

// Protocols of the `protocol` key.
const (
	ProtocolTCP = "tcp" // RFC 6587 octet counting over TCP
	ProtocolTLS = "tls" // RFC 5425: octet counting over TLS
	ProtocolUDP = "udp" // RFC 5426: one message per datagram
)

// Formats of the `format` key: what MSG holds.
const (
	FormatMessage = "message" // the line's `message` field
	FormatJSON    = "json"    // the whole event, as JSON
)

// DefaultSDID is the SD-ID of the structured data element that carries the
// line's ids. 32473 is the private enterprise number that IANA reserves for
// documentation (RFC 5612); set sd_id to your organisation's own number.
const DefaultSDID = "logship@32473"

// Config is the syslog sink's own configuration (the keys of a `sinks[]`
// entry of type `syslog`, besides the common ones).
type Config struct {
	// Address is the receiver, host:port (required).
	Address string `yaml:"address"`
	// Protocol is tcp (default), tls or udp.
	Protocol string `yaml:"protocol"`
	// TLS configures protocol tls.
	// TLS configures protocol tls (see sinks.TLSConfig; the server name
	// defaults to the host of Address).
	TLS sinks.TLSConfig `yaml:"tls"`
	// Facility is the facility of a line that carries none, by name (user,
	// daemon, local0 … local7, …) or number (0–23). Default user.
	Facility string `yaml:"facility"`
	// Severity is the severity of a line whose `severity` and `priority`
	// say nothing usable, by name (emerg … debug) or number (0–7). Default
	// info.
	Severity string `yaml:"severity"`
	// Hostname is the HOSTNAME of every message; default the name of the
	// machine logship runs on.
	Hostname string `yaml:"hostname"`
	// AppName, when set, is the APP-NAME of every message; otherwise
	// APP-NAME is the first non-empty field of AppNameFrom.
	AppName string `yaml:"app_name"`
	// AppNameFrom lists event fields (dotted paths into nested objects)
	// tried in order for APP-NAME. Default: the application name that
	// enrichment adds, then the application id.
	AppNameFrom []string `yaml:"app_name_from"`
	// SDID is the SD-ID of the structured data element holding the ids.
	SDID string `yaml:"sd_id"`
	// Format is what MSG holds: message (default) or json.
	Format string `yaml:"format"`
	// MaxMessageBytes bounds one syslog message (header included); longer
	// messages are truncated, on a UTF-8 boundary, and counted. Default
	// 2048 for udp, 65536 for tcp and tls.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// Timeout bounds connecting and writing one batch. Default 10s.
	Timeout config.Duration `yaml:"timeout"`
}

// DefaultAppNameFrom is the default of app_name_from.
var DefaultAppNameFrom = []string{"clevercloud.application.name", "applicationName", "applicationId"}

// NewDefaultConfig returns the sink's defaults. MaxMessageBytes stays 0:
// its default depends on the protocol (see EffectiveMaxMessageBytes).
func NewDefaultConfig() *Config {
	return &Config{
		Protocol:    ProtocolTCP,
		Facility:    "user",
		Severity:    "info",
		AppNameFrom: append([]string(nil), DefaultAppNameFrom...),
		SDID:        DefaultSDID,
		Format:      FormatMessage,
		Timeout:     config.Duration(10 * time.Second),
	}
}

// EffectiveMaxMessageBytes is MaxMessageBytes, or the protocol's default
// when it is 0.
func (c *Config) EffectiveMaxMessageBytes() int {
	if c.MaxMessageBytes > 0 {
		return c.MaxMessageBytes
	}
	if c.Protocol == ProtocolUDP {
		return 2048
	}
	return 65536
}

// Validate returns every problem of c, with paths relative to the sink.
// Messages never quote values.
func (c *Config) Validate() config.Problems {
	var ps config.Problems
	add := func(path, msg string) { ps = append(ps, config.Problem{Path: path, Message: msg}) }
	if c.Address == "" {
		add("address", "required")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" || !validPort(port) {
		add("address", "must be host:port")
	}
	switch c.Protocol {
	case ProtocolTCP, ProtocolTLS, ProtocolUDP:
	default:
		add("protocol", "must be tcp, tls or udp")
	}
	if c.Protocol != ProtocolTLS && !c.TLS.IsZero() {
		add("tls", "only for protocol tls")
	}
	ps = append(ps, c.TLS.Validate()...)
	if _, ok := ParseFacility(c.Facility); !ok {
		add("facility", "must be a facility name (user, daemon, local0 … local7, …) or 0 to 23")
	}
	if _, ok := ParseSeverity(c.Severity); !ok {
		add("severity", "must be a severity name (emerg, alert, crit, err, warning, notice, info, debug) or 0 to 7")
	}
	if c.Hostname != "" && !printUSASCII(c.Hostname, 255) {
		add("hostname", "must be 1 to 255 printable ASCII characters without spaces")
	}
	if c.AppName != "" && !printUSASCII(c.AppName, 48) {
		add("app_name", "must be 1 to 48 printable ASCII characters without spaces")
	}
	if c.AppName == "" && len(c.AppNameFrom) == 0 {
		add("app_name_from", "required when app_name is not set")
	}
	for i, f := range c.AppNameFrom {
		if f == "" || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") {
			add("app_name_from["+strconv.Itoa(i)+"]", "must be a field name or a dotted path")
		}
	}
	if !validSDID(c.SDID) {
		add("sd_id", "must be name@number (1 to 32 printable ASCII characters, no '=', ']', '\"' or space)")
	}
	switch c.Format {
	case FormatMessage, FormatJSON:
	default:
		add("format", "must be message or json")
	}
	if c.MaxMessageBytes < 0 || (c.MaxMessageBytes > 0 && c.MaxMessageBytes < 480) {
		add("max_message_bytes", "must be at least 480 (RFC 5426), or 0 for the protocol's default")
	} else if c.Protocol == ProtocolUDP && c.MaxMessageBytes > 65507 {
		add("max_message_bytes", "must be at most 65507 for udp")
	}
	if c.Timeout <= 0 {
		add("timeout", "must be positive")
	}
	return ps
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

// printUSASCII reports whether s is 1 to max characters in %d33-126.
func printUSASCII(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// validSDID checks an SD-ID of the name@number form (RFC 5424 section 6.3.2).
func validSDID(s string) bool {
	if !printUSASCII(s, 32) || strings.ContainsAny(s, `="]`) {
		return false
	}
	name, num, ok := strings.Cut(s, "@")
	if !ok || name == "" || num == "" || strings.Contains(num, "@") {
		return false
	}
	for _, part := range strings.Split(num, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
	"solaris-cron": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20,
	"local5": 21, "local6": 22, "local7": 23,
}

var severities = map[string]int{
	"emerg": 0, "emergency": 0, "panic": 0, "fatal": 0, "critical": 2,
	"alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4, "warn": 4,
	"notice": 5, "info": 6, "informational": 6, "information": 6, "debug": 7, "trace": 7,
}

// ParseFacility reads a facility name (any case) or number 0–23.
func ParseFacility(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0 && n <= 23
	}
	n, ok := facilities[strings.ToLower(s)]
	return n, ok
}

// ParseSeverity reads a severity name (any case, with the usual aliases
// such as error, warn, fatal) or number 0–7.
func ParseSeverity(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0 && n <= 7
	}
	n, ok := severities[strings.ToLower(s)]
	return n, ok
}

// Factory is the syslog sink's entry in logship's table of sinks.
func Factory() sinks.Factory {
	return sinks.Factory{
		SinkFactory: config.SinkFactory{
			Type:             "syslog",
			NewDefaultConfig: func() config.SinkConfig { return NewDefaultConfig() },
		},
		// One connection, one ordered stream of messages.
		OneAtATime: true,
		New: func(cfg config.SinkConfig, set sinks.Settings) (pipeline.Sink, error) {
			return New(cfg.(*Config), Options{
				Name:      set.Name,
				Logger:    set.Logger,
				Truncated: set.Metrics.SinkTruncated.WithLabelValues(set.Name),
			})
		},
	}
}
