package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ResolveCredentials completes api's credentials. When the configuration
// sets none (no api.token, api.oauth.token or api.oauth.secret), it takes
// the first of:
//
//  1. env CLEVER_API_TOKEN: an API token (bearer);
//  2. env CLEVER_TOKEN and CLEVER_SECRET: OAuth, as clever-tools reads them;
//  3. env CC_OAUTH_TOKEN and CC_OAUTH_SECRET: OAuth;
//  4. the file `clever login` writes,
//     $XDG_CONFIG_HOME/clever-cloud/clever-tools.json, or else
//     $HOME/.config/clever-cloud/clever-tools.json (JSON holding token and
//     secret).
//
// When the configuration sets neither half of the OAuth consumer pair, it
// is env CC_CONSUMER_KEY and CC_CONSUMER_SECRET, or else clever-tools' pair
// (DefaultConsumerKey, DefaultConsumerSecret).
//
// It records where the credentials came from in api.CredentialsFrom (never
// a value). Finding none is not an error (see Config.HasCredentials); a
// variable set without its pair, or a credentials file that cannot be read
// or parsed, is (a Problems). Empty variables count as unset.
//
// env looks a variable up (os.LookupEnv in production); HOME and
// XDG_CONFIG_HOME are read through it too, so that tests stay hermetic.
func ResolveCredentials(api *API, env func(string) (string, bool)) error {
	get := func(k string) string { v, _ := env(k); return v }
	var ps Problems
	o := &api.OAuth
	if o.ConsumerKey == "" && o.ConsumerSecret == "" {
		k, s, ok := envPair(&ps, get, "CC_CONSUMER_KEY", "CC_CONSUMER_SECRET")
		if !ok {
			k, s = DefaultConsumerKey, DefaultConsumerSecret.Reveal()
		}
		o.ConsumerKey, o.ConsumerSecret = k, Secret(s)
	}
	switch {
	case api.Token != "":
		api.CredentialsFrom = "config api.token"
		return ps.err()
	case o.Token != "" || o.Secret != "":
		api.CredentialsFrom = "config api.oauth"
		return ps.err()
	}
	if t := get("CLEVER_API_TOKEN"); t != "" {
		api.Token, api.CredentialsFrom = Secret(t), "env CLEVER_API_TOKEN"
		return ps.err()
	}
	for _, pair := range [][2]string{{"CLEVER_TOKEN", "CLEVER_SECRET"}, {"CC_OAUTH_TOKEN", "CC_OAUTH_SECRET"}} {
		t, s, ok := envPair(&ps, get, pair[0], pair[1])
		if len(ps) > 0 {
			return ps
		}
		if ok {
			o.Token, o.Secret, api.CredentialsFrom = Secret(t), Secret(s), "env "+pair[0]
			return nil
		}
	}
	path := cleverToolsFile(get)
	if path == "" {
		return ps.err()
	}
	t, s, err := readCleverTools(path)
	switch {
	case err != nil:
		ps.add("", "credentials: "+err.Error())
	case t != "":
		o.Token, o.Secret, api.CredentialsFrom = Secret(t), Secret(s), "file "+path
	}
	return ps.err()
}

// envPair returns the values of two variables that go together; ok is
// false when neither is set, and a problem is added when one only is.
func envPair(ps *Problems, get func(string) string, a, b string) (va, vb string, ok bool) {
	va, vb = get(a), get(b)
	switch {
	case va != "" && vb != "":
		return va, vb, true
	case va != "":
		ps.add("", "credentials: env "+a+" is set but "+b+" is not")
	case vb != "":
		ps.add("", "credentials: env "+b+" is set but "+a+" is not")
	}
	return "", "", false
}

// cleverToolsFile returns where `clever login` keeps its credentials, or
// "" when neither XDG_CONFIG_HOME nor HOME is set.
func cleverToolsFile(get func(string) string) string {
	if x := get("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "clever-cloud", "clever-tools.json")
	}
	if h := get("HOME"); h != "" {
		return filepath.Join(h, ".config", "clever-cloud", "clever-tools.json")
	}
	return ""
}

// readCleverTools reads clever-tools' credentials file; a missing file
// holds no credentials (token ""). Errors name the file, never its
// content.
func readCleverTools(path string) (token, secret string, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err // *fs.PathError: operation, path and reason
	}
	var f struct {
		Token  string `json:"token"`
		Secret string `json:"secret"`
	}
	if json.Unmarshal(data, &f) != nil {
		return "", "", errors.New(path + ": not valid JSON")
	}
	if (f.Token == "") != (f.Secret == "") {
		return "", "", errors.New(path + ": token and secret go together")
	}
	return f.Token, f.Secret, nil
}

// HasCredentials reports whether the configuration holds credentials for
// the API: a token, or an OAuth token pair.
func (c *Config) HasCredentials() bool {
	return c.API.Token != "" || c.API.OAuth.Token != "" && c.API.OAuth.Secret != ""
}
