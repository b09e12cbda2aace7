package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCleverTools(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "clever-cloud", "clever-tools.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestResolveCredentials(t *testing.T) {
	home := t.TempDir()
	homeFile := writeCleverTools(t, filepath.Join(home, ".config"), `{"token":"file-token","secret":"file-secret","expirationDate":"2030-01-01"}`)
	xdg := t.TempDir()
	xdgFile := writeCleverTools(t, xdg, `{"token":"xdg-token","secret":"xdg-secret"}`)
	emptyXDG := t.TempDir()

	all := []string{
		"CLEVER_API_TOKEN", "api-token",
		"CLEVER_TOKEN", "ct", "CLEVER_SECRET", "cs",
		"CC_OAUTH_TOKEN", "cct", "CC_OAUTH_SECRET", "ccs",
		"HOME", home,
	}
	type want struct {
		from, token, oauthToken, oauthSecret, consumerKey, consumerSecret string
	}
	dflt := func(w want) want {
		if w.consumerKey == "" {
			w.consumerKey, w.consumerSecret = DefaultConsumerKey, DefaultConsumerSecret.Reveal()
		}
		return w
	}
	tests := []struct {
		name string
		api  API
		env  []string
		want want
	}{
		{"config token wins", API{Token: "cfg"}, all, want{from: "config api.token", token: "cfg"}},
		{"config oauth wins", API{OAuth: OAuth{Token: "t", Secret: "s"}}, all, want{from: "config api.oauth", oauthToken: "t", oauthSecret: "s"}},
		{"half config oauth is the config's (Validate reports it)", API{OAuth: OAuth{Secret: "s"}}, all, want{from: "config api.oauth", oauthSecret: "s"}},
		{"CLEVER_API_TOKEN first", API{}, all, want{from: "env CLEVER_API_TOKEN", token: "api-token"}},
		{"then CLEVER_TOKEN", API{}, all[2:], want{from: "env CLEVER_TOKEN", oauthToken: "ct", oauthSecret: "cs"}},
		{"then CC_OAUTH_TOKEN", API{}, all[6:], want{from: "env CC_OAUTH_TOKEN", oauthToken: "cct", oauthSecret: "ccs"}},
		{"consumer pair from env", API{}, append([]string{"CC_CONSUMER_KEY", "ck", "CC_CONSUMER_SECRET", "cks"}, all[6:]...),
			want{from: "env CC_OAUTH_TOKEN", oauthToken: "cct", oauthSecret: "ccs", consumerKey: "ck", consumerSecret: "cks"}},
		{"consumer pair from config wins", API{OAuth: OAuth{ConsumerKey: "k", ConsumerSecret: "ks"}}, append([]string{"CC_CONSUMER_KEY", "ck", "CC_CONSUMER_SECRET", "cks"}, all[6:]...),
			want{from: "env CC_OAUTH_TOKEN", oauthToken: "cct", oauthSecret: "ccs", consumerKey: "k", consumerSecret: "ks"}},
		{"then the file in HOME", API{}, []string{"HOME", home}, want{from: "file " + homeFile, oauthToken: "file-token", oauthSecret: "file-secret"}},
		{"XDG_CONFIG_HOME before HOME", API{}, []string{"HOME", home, "XDG_CONFIG_HOME", xdg}, want{from: "file " + xdgFile, oauthToken: "xdg-token", oauthSecret: "xdg-secret"}},
		{"XDG_CONFIG_HOME without a file", API{}, []string{"HOME", home, "XDG_CONFIG_HOME", emptyXDG}, want{}},
		{"empty variables are unset", API{}, []string{"CLEVER_API_TOKEN", "", "CLEVER_TOKEN", "", "CLEVER_SECRET", "", "HOME", home},
			want{from: "file " + homeFile, oauthToken: "file-token", oauthSecret: "file-secret"}},
		{"none", API{}, nil, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := tt.api
			if err := ResolveCredentials(&api, envOf(tt.env...)); err != nil {
				t.Fatalf("ResolveCredentials: %v", err)
			}
			w := dflt(tt.want)
			got := want{api.CredentialsFrom, api.Token.Reveal(), api.OAuth.Token.Reveal(), api.OAuth.Secret.Reveal(),
				api.OAuth.ConsumerKey, api.OAuth.ConsumerSecret.Reveal()}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
}

func TestResolveCredentialsProblems(t *testing.T) {
	home := t.TempDir()
	writeCleverTools(t, filepath.Join(home, ".config"), `{"token": "tok-in-bad-file", `)
	halfHome := t.TempDir()
	writeCleverTools(t, filepath.Join(halfHome, ".config"), `{"token": "only-token-value"}`)
	dirHome := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dirHome, ".config", "clever-cloud", "clever-tools.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    []string
		want   string
		secret string
	}{
		{"token without secret", []string{"CLEVER_TOKEN", "tok-value"}, "credentials: env CLEVER_TOKEN is set but CLEVER_SECRET is not", "tok-value"},
		{"secret without token", []string{"CC_OAUTH_SECRET", "sec-value"}, "credentials: env CC_OAUTH_SECRET is set but CC_OAUTH_TOKEN is not", "sec-value"},
		{"consumer half", []string{"CC_CONSUMER_SECRET", "sec-value", "CLEVER_API_TOKEN", "x"}, "credentials: env CC_CONSUMER_SECRET is set but CC_CONSUMER_KEY is not", "sec-value"},
		{"bad JSON", []string{"HOME", home}, "credentials: " + filepath.Join(home, ".config", "clever-cloud", "clever-tools.json") + ": not valid JSON", "tok-in-bad-file"},
		{"half file", []string{"HOME", halfHome}, "credentials: " + filepath.Join(halfHome, ".config", "clever-cloud", "clever-tools.json") + ": token and secret go together", "only-token-value"},
		{"unreadable", []string{"HOME", dirHome}, "credentials: read " + filepath.Join(dirHome, ".config", "clever-cloud", "clever-tools.json") + ": is a directory", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var api API
			got := problems(t, ResolveCredentials(&api, envOf(tt.env...)))
			checkProblems(t, got, []string{tt.want}, true)
			if tt.secret != "" && strings.Contains(strings.Join(got, "\n"), tt.secret) {
				t.Errorf("problem %q holds the credential", got)
			}
		})
	}
}

func TestCredentialsThroughParse(t *testing.T) {
	c := mustParse(t, base, envOf("CLEVER_TOKEN", "t", "CLEVER_SECRET", "s"))
	if !c.HasCredentials() || c.API.CredentialsFrom != "env CLEVER_TOKEN" {
		t.Errorf("HasCredentials %v from %q", c.HasCredentials(), c.API.CredentialsFrom)
	}
	c = mustParse(t, base+"api:\n  token: ${TOK}\n", envOf("TOK", "x", "CLEVER_TOKEN", "t", "CLEVER_SECRET", "s"))
	if !c.HasCredentials() || c.API.CredentialsFrom != "config api.token" || c.API.OAuth.Token != "" {
		t.Errorf("HasCredentials %v from %q", c.HasCredentials(), c.API.CredentialsFrom)
	}
}
