package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds the size of a configuration file.
const MaxFileBytes = 4 << 20

// Load reads the configuration file at path and returns it ready to use,
// as Parse does. A file that cannot be read is a plain error wrapping the
// fs error; anything wrong in it is a Problems.
func Load(path string, env func(string) (string, bool), sinks []SinkFactory) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	// One byte more than allowed, for Parse to see that it is too large.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, env, sinks)
}

// Parse turns a configuration file's content into a Config:
//
//  1. the YAML is parsed, then decoded over Default, strictly: unknown
//     keys, keys of another sink type and values of the wrong type are
//     problems, each with its key path; `${VAR}`, `${VAR:-default}` and
//     `$$` in scalar values are replaced from env as they are decoded (see
//     expandNode: a value can never change the structure);
//  2. the defaults that depend on other keys are applied (source and sink
//     names, sink batch and buffer, burst, dead-letter path, sink types'
//     defaults) and credentials are resolved (ResolveCredentials);
//  3. the result is validated (Validate).
//
// It returns the Config, or nil and a Problems holding every problem of
// all three steps (a problem that follows from another one, such as
// "required" for a key whose value had the wrong type, is left out). No
// problem quotes a value of the file or of a variable; every Secret's
// value is scrubbed from them besides.
//
// env looks a variable up; nil means os.LookupEnv. sinks are the sink
// types: a `sinks[]` entry's keys besides the common ones are decoded into
// the configuration its type's factory makes, and checked by its Validate.
func Parse(data []byte, env func(string) (string, bool), sinks []SinkFactory) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	if len(data) > MaxFileBytes {
		return nil, Problems{{Message: fmt.Sprintf("the configuration is larger than %d bytes", MaxFileBytes)}}
	}
	root, err := parseYAML(data)
	if err != nil {
		ps := Problems{{Message: err.Error()}}
		// A YAML error may quote the file's text (an anchor name): scrub
		// the credentials the environment would provide.
		var api API
		_ = ResolveCredentials(&api, env)
		ps.scrub(secretValues(api))
		return nil, ps
	}

	c := Default()
	c.sinkFactories = sinks
	d := &decoder{env: env, sinks: sinks}
	if !d.decodeDocument(root, c) {
		return nil, d.probs
	}
	if err := c.complete(env, d.probs); err != nil {
		return nil, err
	}
	return c, nil
}

// Complete finishes a configuration built in Go (from Default, NewSource
// and NewSink) as Parse finishes a file: it applies the defaults that
// depend on other keys (names, batch and buffer inheritance, push-down,
// each sink's Resolve), resolves credentials from env (nil: the process
// environment) and validates. It returns nil or a Problems. sinks are the
// sink types, to name them in problems.
func (c *Config) Complete(env func(string) (string, bool), sinks []SinkFactory) error {
	if env == nil {
		env = os.LookupEnv
	}
	c.sinkFactories = sinks
	return c.complete(env, nil)
}

// complete is Complete after decoding, with the decoding's problems.
func (c *Config) complete(env func(string) (string, bool), ps Problems) error {
	c.resolve()
	if err := ResolveCredentials(&c.API, env); err != nil {
		var cps Problems
		if errors.As(err, &cps) {
			ps = append(ps, cps...)
		} else {
			ps.add("", err.Error())
		}
	}
	ps = append(ps, c.validate().without(ps)...)
	if len(ps) > 0 {
		ps.scrub(secretValues(c))
		return ps
	}
	return nil
}

// parseYAML parses one YAML document into a node tree (a zero node for an
// empty text).
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, errors.New("invalid YAML")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	root = &yaml.Node{}
	if err := dec.Decode(root); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil
		}
		return nil, yamlError(err)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			return root, nil
		}
		if err != nil {
			return nil, yamlError(err)
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, fmt.Errorf("invalid YAML: line %d: a second document (one only, no `---` between documents)", extra.Line)
		}
	}
}

func yamlError(err error) error {
	return errors.New("invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "))
}
