package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds the size of a configuration file.
const MaxFileBytes = 4 << 20

// Load reads the configuration file at path and returns it ready to use,
// as Parse does. A file that cannot be read is a plain error wrapping the
// fs error; anything wrong in it is a Problems.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
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
	return Parse(data, env)
}

// Parse turns a configuration file's content into a Config:
//
//  1. `${VAR}`, `${VAR:-default}` and `$$` are replaced from env (see
//     expand for the details; references in comments are left alone);
//  2. the YAML is decoded over Default, strictly: unknown keys, keys of
//     another sink type and values of the wrong type are problems, each
//     with its key path;
//  3. the defaults that depend on other keys are applied (source and sink
//     names, sink batch and buffer, burst, dead-letter path, sink types'
//     defaults) and credentials are resolved (ResolveCredentials);
//  4. the result is validated (Validate).
//
// It returns the Config, or nil and a Problems holding every problem of
// all four steps (a problem that follows from another one, such as
// "required" for a key whose value had the wrong type, is left out). No
// problem holds a secret, nor the value of a variable that feeds one.
//
// env looks a variable up; nil means os.LookupEnv.
func Parse(data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	if len(data) > MaxFileBytes {
		return nil, Problems{{Message: fmt.Sprintf("the configuration is larger than %d bytes", MaxFileBytes)}}
	}
	expanded, exps, ps := expand(data, env)
	root, err := parseYAML(expanded)
	if err != nil {
		for _, e := range exps {
			if e.unset {
				ps.add("", fmt.Sprintf("line %d: environment variable %s is not set", e.line, e.name))
			}
		}
		ps.add("", hideExpanded(err.Error(), exps))
		// The credentials the environment would provide, to scrub them too.
		var api API
		_ = ResolveCredentials(&api, env)
		ps.scrub(append(secretValues(api), feedingSecrets(exps, nil)...))
		return nil, ps
	}

	c := Default()
	d := &decoder{}
	if !d.decodeDocument(root, c) {
		return nil, append(ps, d.probs...)
	}
	for _, e := range exps {
		if !e.unset {
			continue
		}
		if path := d.pathAt(e.line, e.col); path != "" {
			ps.add(path, "environment variable "+e.name+" is not set")
		} else {
			ps.add("", fmt.Sprintf("line %d: environment variable %s is not set", e.line, e.name))
		}
	}
	ps = append(ps, d.probs...)

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
		secrets := secretValues(c)
		ps.scrub(append(secrets, feedingSecrets(exps, secrets)...))
		return nil, ps
	}
	return c, nil
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

// quoted matches the text a YAML error quotes (anchor names).
var quoted = regexp.MustCompile(`'[^']*'`)

// hideExpanded hides, in a YAML error message, each quoted text that holds
// an expanded value: whether it feeds a secret is unknown at that stage.
func hideExpanded(msg string, exps []expansion) string {
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		for _, e := range exps {
			if e.value != "" && strings.Contains(q, e.value) {
				return "'" + redacted + "'"
			}
		}
		return q
	})
}

// secretName matches the names of variables that likely hold credentials.
var secretName = regexp.MustCompile(`(?i)token|secret|pass|pwd|key|cred|auth|bearer|cookie|private|session`)

// feedingSecrets returns the expanded values that feed a secret: those of
// variables with a credential-like name, and those that are (a large part
// of) one of the secret values.
func feedingSecrets(exps []expansion, secrets []string) []string {
	var out []string
	for _, e := range exps {
		if e.value == "" {
			continue
		}
		if secretName.MatchString(e.name) || slices.ContainsFunc(secrets, func(s string) bool {
			return s == e.value || len(e.value) >= 8 && strings.Contains(s, e.value)
		}) {
			out = append(out, e.value)
		}
	}
	return out
}
