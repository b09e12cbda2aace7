package s3

import (
	"net/url"
	"strings"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
)

// Compressions of the `compression` key.
const (
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
	CompressionNone = "none"
)

// Config is the s3 sink's own configuration (the keys of a `sinks[]`
// entry of type `s3`, besides the common ones).
type Config struct {
	// Endpoint is the S3 service: a host (https is used), or a URL whose
	// scheme says http or https. Default s3.amazonaws.com; Clever Cloud
	// Cellar is cellar-c2.services.clever-cloud.com.
	Endpoint string `yaml:"endpoint"`
	// Region is the bucket's region; empty: asked from the service.
	Region string `yaml:"region"`
	// Bucket receives the objects (required; it must exist).
	Bucket string `yaml:"bucket"`
	// Prefix starts every key (no leading or trailing '/'); may be empty.
	Prefix string `yaml:"prefix"`
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// instead of the host name (bucket.endpoint/key): MinIO and many
	// self-hosted stores want it.
	PathStyle bool `yaml:"path_style"`
	// AccessKeyID and SecretAccessKey are the credentials; when both are
	// empty, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and
	// AWS_SESSION_TOKEN) are read from the environment.
	AccessKeyID     string        `yaml:"access_key_id"`
	SecretAccessKey config.Secret `yaml:"secret_access_key"`
	SessionToken    config.Secret `yaml:"session_token"`
	// TLS configures an https endpoint (see sinks.TLSConfig).
	TLS sinks.TLSConfig `yaml:"tls"`
	// Compression of the objects: gzip (default), zstd or none.
	Compression string `yaml:"compression"`
	// StorageClass, when set, is sent with each object (STANDARD_IA, …).
	StorageClass string `yaml:"storage_class"`
	// PartSize is the part size of multipart uploads, used for objects
	// larger than it (default 16 MiB, at least 5 MiB).
	PartSize int64 `yaml:"part_size"`
	// Timeout bounds one object's upload. Default 2m.
	Timeout config.Duration `yaml:"timeout"`
	// ReconcileObjects bounds how many objects of an application are read
	// at its first write, to skip the lines they already hold (replayed
	// after a crash): the objects that can hold a line dated at or after
	// the write's oldest line minus ReconcileMargin, and the newest one
	// before, at most this many (the newest). Default 1000; 0 turns
	// reconciliation off.
	ReconcileObjects *int `yaml:"reconcile_objects"`
}

// DefaultReconcileObjects is reconcile_objects' default.
const DefaultReconcileObjects = 1000

// reconcileObjects returns reconcile_objects, its default when unset.
func (c *Config) reconcileObjects() int {
	if c.ReconcileObjects == nil {
		return DefaultReconcileObjects
	}
	return *c.ReconcileObjects
}

// DefaultBatch is the s3 sink's batching: objects of megabytes, cut at
// least every few minutes.
var DefaultBatch = config.Batch{MaxEvents: 200_000, MaxBytes: 16 << 20, MaxWait: config.Duration(5 * time.Minute)}

// NewDefaultConfig returns the sink's defaults.
func NewDefaultConfig() *Config {
	n := DefaultReconcileObjects
	return &Config{
		Endpoint:         "s3.amazonaws.com",
		Compression:      CompressionGzip,
		PartSize:         16 << 20,
		Timeout:          config.Duration(2 * time.Minute),
		ReconcileObjects: &n,
	}
}

// Validate returns every problem of c, with paths relative to the sink.
func (c *Config) Validate() config.Problems {
	var ps config.Problems
	add := func(path, msg string) { ps = append(ps, config.Problem{Path: path, Message: msg}) }
	if _, _, err := c.endpoint(); err != nil {
		add("endpoint", err.Error())
	}
	if c.Bucket == "" {
		add("bucket", "required")
	} else if len(c.Bucket) < 3 || len(c.Bucket) > 63 || strings.ContainsAny(c.Bucket, "/ \\") {
		add("bucket", "must be a bucket name (3 to 63 characters, no '/')")
	}
	if strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") || strings.Contains(c.Prefix, "//") {
		add("prefix", "must not start or end with '/' nor hold '//'")
	}
	// The problem is at the key missing, so that a secret_access_key_file
	// that cannot be read is the only problem reported.
	switch {
	case c.AccessKeyID != "" && c.SecretAccessKey == "":
		add("secret_access_key", "required with access_key_id")
	case c.AccessKeyID == "" && c.SecretAccessKey != "":
		add("access_key_id", "required with secret_access_key")
	}
	switch c.Compression {
	case CompressionGzip, CompressionZstd, CompressionNone:
	default:
		add("compression", "must be gzip, zstd or none")
	}
	if c.PartSize < 5<<20 {
		add("part_size", "must be at least 5 MiB")
	}
	if c.Timeout <= 0 {
		add("timeout", "must be positive")
	}
	if c.ReconcileObjects != nil && *c.ReconcileObjects < 0 {
		add("reconcile_objects", "must not be negative")
	}
	ps = append(ps, c.TLS.Validate()...)
	if scheme, _, err := c.endpoint(); err == nil && scheme == "http" && !c.TLS.IsZero() {
		add("tls", "applies only to an https endpoint")
	}
	return ps
}

// endpoint returns the scheme (http or https) and host[:port] of Endpoint.
func (c *Config) endpoint() (scheme, host string, err error) {
	e := c.Endpoint
	if e == "" {
		return "", "", errRequired
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return "", "", errEndpoint
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", errEndpoint
	}
	return u.Scheme, u.Host, nil
}

type problemText string

func (p problemText) Error() string { return string(p) }

const (
	errRequired problemText = "required"
	errEndpoint problemText = "must be a host[:port] or an http(s) URL without path or credentials"
)

// Factory is the s3 sink's entry in logship's table of sinks.
func Factory() sinks.Factory {
	return sinks.Factory{
		SinkFactory: config.SinkFactory{
			Type:             "s3",
			NewDefaultConfig: func() config.SinkConfig { return NewDefaultConfig() },
			Batch:            DefaultBatch,
		},
		New: func(cfg config.SinkConfig, set sinks.Settings) (pipeline.Sink, error) {
			return New(cfg.(*Config), Options{Name: set.Name, Logger: set.Logger})
		},
	}
}
