package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("token", "S3CRET-file-token-1\n", 0o600)
	write("otoken", "S3CRET-file-otoken-2\r\n", 0o600)
	write("osecret", "S3CRET-file-osecret-3", 0o600)
	write("bearer", "S3CRET-file-bearer-4\n\n", 0o600)
	write("header", "S3CRET-file-header-5\n", 0o600)
	env := envOf("CREDENTIALS_DIRECTORY", dir)

	c := mustParse(t, base+`  - type: http
    url: http://127.0.0.1:1/
    auth: {token_file: "${CREDENTIALS_DIRECTORY}/bearer"}
    headers: {Content-Type: text/plain}
    headers_file: {X-Api-Key: `+dir+`/header}
api:
  oauth:
    token_file: ${CREDENTIALS_DIRECTORY}/otoken
    secret_file: ${CREDENTIALS_DIRECTORY}/osecret
`, env)
	h := httpOf(c, 1)
	for _, ch := range []struct{ got, want string }{
		{c.API.OAuth.Token.Reveal(), "S3CRET-file-otoken-2"},
		{c.API.OAuth.Secret.Reveal(), "S3CRET-file-osecret-3"},
		{h.Auth.Token.Reveal(), "S3CRET-file-bearer-4"},
		{h.Headers["X-Api-Key"].Reveal(), "S3CRET-file-header-5"},
		{h.Headers["Content-Type"].Reveal(), "text/plain"},
	} {
		if ch.got != ch.want {
			t.Errorf("got %q, want %q", ch.got, ch.want)
		}
	}
	if c.API.CredentialsFrom != "config api.oauth" {
		t.Errorf("credentials from %q", c.API.CredentialsFrom)
	}
	c = mustParse(t, base+"api:\n  token_file: "+dir+"/token\n", env)
	if c.API.Token.Reveal() != "S3CRET-file-token-1" {
		t.Errorf("api.token %q", c.API.Token.Reveal())
	}
	out, err := c.Redacted()
	if err != nil || strings.Contains(string(out), "S3CRET") || strings.Contains(string(out), "token_file") {
		t.Errorf("Redacted (%v):\n%s", err, out)
	}

	// Problems: both ways, unreadable, too large, not a secret key; none
	// quotes a path or a secret, and the secrets read are scrubbed from
	// the others.
	write("big", strings.Repeat("x", 65<<10), 0o600)
	got := parseProblems(t, base+`  - type: http
    url: http://u:S3CRET-file-bearer-4@h/
    auth: {token: x, token_file: `+dir+`/bearer}
    headers: {X-Api-Key: a}
    headers_file: {X-Api-Key: `+dir+`/header, X-Other: `+dir+`/missing}
api:
  token_file: `+dir+`/missing
  url_file: `+dir+`/token
  oauth: {token_file: `+dir+`/big, secret_file: `+dir+`}
  bogus_file: x
log:
  level: S3CRET-file-otoken-2
`, env)
	checkProblems(t, got, []string{
		"sinks[1].auth.token_file: set token or token_file, not both",
		"sinks[1].headers_file.X-Api-Key: set in headers too",
		"sinks[1].headers_file.X-Other: cannot read the file: no such file",
		"api.token_file: cannot read the file: no such file",
		"api.url_file: unknown key",
		"api.oauth.token_file: the file is larger than 64 KiB",
		"api.oauth.secret_file: cannot read the file: is a directory",
		"api.bogus_file: unknown key",
		"sinks[1].url: no credentials in the url",
		"log.level: must be debug, info, warn or error",
	}, true)
	for _, p := range got {
		if strings.Contains(p, dir) {
			t.Errorf("problem quotes a path: %s", p)
		}
	}
	// A secret read from a file never appears in a problem, even where
	// the same text sits in another value.
	got = parseProblems(t, base+"api:\n  token_file: "+dir+"/token\nlog:\n  level: x\n  format: S3CRET-file-token-1\n", env)
	for _, p := range got {
		if strings.Contains(p, "S3CRET") {
			t.Errorf("problem holds a secret: %s", p)
		}
	}
}
