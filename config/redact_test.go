package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Distinctive credential values that must never be printed.
const (
	secAPI     = "S3CRET-api-token-7a1f"
	secOAuth   = "S3CRET-oauth-token-92bc"
	secOSecret = "S3CRET-oauth-secret-03de"
	secHeader  = "S3CRET-header-value-55aa"
	secBearer  = "S3CRET-http-bearer-1c2d"
	secKafka   = "S3CRET-kafka-pass-8e8e"
	secPlain   = "S3CRET-plain-name-var-4f4f" // fed by a variable with an ordinary name
)

var allSecrets = []string{secAPI, secOAuth, secOSecret, secHeader, secBearer, secKafka, secPlain}

func secretEnv(extra ...string) func(string) (string, bool) {
	return envOf(append([]string{
		"CLEVER_API_TOKEN", secAPI,
		"OAUTH_TOKEN", secOAuth,
		"OAUTH_SECRET", secOSecret,
		"HEADER_KEY", secHeader,
		"BEARER", secBearer,
		"KAFKA_PASSWORD", secKafka,
		"PLAIN", secPlain,
	}, extra...)...)
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range allSecrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s holds secret %q:\n%s", what, sec, s)
		}
	}
}

const secretConfig = base + `api:
  oauth:
    token: ${OAUTH_TOKEN}
    secret: ${OAUTH_SECRET}
  - type: http
    url: http://127.0.0.1:1/
    headers: {X-Api-Key: "${HEADER_KEY}"}
    auth: {token: "${BEARER}"}
  - type: kafka
    brokers: [127.0.0.1:9092]
    topic: t
    sasl: {mechanism: plain, username: u, password: "${KAFKA_PASSWORD}"}
`

func TestRedaction(t *testing.T) {
	// The api block sits between the sinks in the text above: move it.
	src := strings.Replace(secretConfig, "api:\n  oauth:\n    token: ${OAUTH_TOKEN}\n    secret: ${OAUTH_SECRET}\n", "", 1) +
		"api:\n  oauth:\n    token: ${OAUTH_TOKEN}\n    secret: ${OAUTH_SECRET}\n"
	c := mustParse(t, src, secretEnv())
	if c.API.OAuth.Token.Reveal() != secOAuth || httpOf(c, 1).Headers["X-Api-Key"].Reveal() != secHeader ||
		kafkaOf(c, 2).SASL.Password.Reveal() != secKafka {
		t.Fatalf("secrets not decoded: %+v", c)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		assertNoSecret(t, "Printf "+verb+" *Config", fmt.Sprintf(verb, c))
		assertNoSecret(t, "Printf "+verb+" Config", fmt.Sprintf(verb, *c))
		assertNoSecret(t, "Printf "+verb+" Sink", fmt.Sprintf(verb, c.Sinks[1]))
		assertNoSecret(t, "Printf "+verb+" Secret", fmt.Sprintf(verb, c.API.OAuth.Token))
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "JSON", string(js))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "token", c.API.OAuth.Token, "config", c)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "token", c.API.OAuth.Token, "config", c)
	assertNoSecret(t, "slog", buf.String())

	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "Redacted", string(out))
	for _, key := range []string{"X-Api-Key: '[redacted]'", "password: '[redacted]'", "token: '[redacted]'", "secret: '[redacted]'"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("Redacted lacks %q:\n%s", key, out)
		}
	}
}

// TestErrorsHoldNoSecret checks every error path with credentials around:
// no problem may hold a secret, nor a value that feeds one.
func TestErrorsHoldNoSecret(t *testing.T) {
	tests := []struct{ name, src string }{
		{"other problems", base + "api:\n  token: ${CLEVER_API_TOKEN}\n  bogus: 1\nlog: {level: x}\n"},
		{"env credentials and problems", base + "log: {level: x}\n"},
		{"secret as a key", base + "${KAFKA_PASSWORD}: 1\n"},
		{"plain-named variable feeding a secret, used as a key", base + "api:\n  token: ${PLAIN}\n${PLAIN}: 1\n"},
		{"secret in a wrongly typed field", strings.Replace(base, "app_1\n", "app_1\n    limit: ${OAUTH_SECRET}\n", 1) + "api:\n  oauth:\n    token: x\n    secret: ${OAUTH_SECRET}\n"},
		{"secret in an id", strings.Replace(base, "app_1\n", "${OAUTH_TOKEN}\n", 1)},
		{"secret as an anchor name (YAML error)", base + "api:\n  token: *${BEARER}\n"},
		{"secret breaking the YAML", base + "api:\n  token: [${OAUTH_TOKEN}\n"},
		{"env credential typed in the file", base + "S3CRET-api-token-7a1f: 1\n"},
		{"env credential typed in the file, YAML error", base + "x: *S3CRET-api-token-7a1f\n"},
		{"header with a line break", base + "  - type: http\n    url: http://h/\n    headers: {X-K: \"${HEADER_KEY}\\nX\"}\n"},
		{"malformed reference", base + "api:\n  token: ${S3CRET-api-token-7a1f\n"},
		{"unset variable", base + "api:\n  token: ${UNSET_TOKEN}\n"},
		{"secret variable also in a key with a problem", base + "api:\n  token: ${BEARER}\nlog:\n  level: ${BEARER}\n  format: \"x${BEARER}\"\n"},
		{"secret variable in a Secret with a problem", base + "  - type: http\n    url: http://h/\n    auth: {token: \"${BEARER}\", user: u}\n"},
		{"url with a secret", base + "  - type: http\n    url: \"http://u:${BEARER}@h:99999/\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.src), secretEnv(), testSinks)
			if err == nil {
				t.Fatalf("no error; config %v", c)
			}
			for _, p := range problems(t, err) {
				assertNoSecret(t, "problem", p)
			}
			assertNoSecret(t, "Error()", err.Error())
		})
	}
}

func TestValidateHoldsNoSecret(t *testing.T) {
	c := mustParse(t, base, nil)
	c.Sources[0].Name = secAPI + "/x" // a name is checked, and never echoed
	c.API.Token = Secret(secAPI)
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	assertNoSecret(t, "Validate", err.Error())
}

// TestRedactedRoundTrip checks that Redacted is itself a configuration
// that loads to the same thing.
func TestRedactedRoundTrip(t *testing.T) {
	c := mustParse(t, full+"pipeline: {throttle: {rate: 10}}\nmetrics: {listen: ':9'}\n", nil)
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	c2 := mustParse(t, string(out), nil)
	out2, err := c2.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Errorf("round trip differs:\n%s\n---\n%s", out, out2)
	}
}

func TestSecretFormats(t *testing.T) {
	s := Secret("hunter2")
	for _, got := range []string{s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintf("%#v", s)} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("printed %q", got)
		}
	}
	if b, _ := s.MarshalText(); string(b) != redacted {
		t.Errorf("MarshalText %q", b)
	}
	if s.Reveal() != "hunter2" || Secret("").String() != "" {
		t.Error("Reveal or empty String")
	}
}
