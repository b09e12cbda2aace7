package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// pct is RFC 3986 percent-encoding written independently of oauthEscape.
func pct(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%7E", "~")
}

// signHMAC builds an RFC 5849 Authorization header for GET rawURL.
func signHMAC(newHash func() hash.Hash, method, rawURL string, c OAuthCreds, nonce string) string {
	u, _ := url.Parse(rawURL)
	oauth := map[string]string{
		"oauth_consumer_key":     c.ConsumerKey,
		"oauth_token":            c.Token,
		"oauth_signature_method": method,
		"oauth_timestamp":        fmt.Sprint(time.Now().Unix()),
		"oauth_version":          "1.0",
	}
	if nonce != "" {
		oauth["oauth_nonce"] = nonce
	}
	var pairs []string
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, pct(k)+"="+pct(v))
		}
	}
	for k, v := range oauth {
		pairs = append(pairs, pct(k)+"="+pct(v))
	}
	sort.Strings(pairs)
	base := "GET&" + pct(u.Scheme+"://"+u.Host+u.Path) + "&" + pct(strings.Join(pairs, "&"))
	m := hmac.New(newHash, []byte(pct(c.ConsumerSecret)+"&"+pct(c.Secret)))
	m.Write([]byte(base))
	oauth["oauth_signature"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
	var parts []string
	for k, v := range oauth {
		parts = append(parts, fmt.Sprintf(`%s="%s"`, k, pct(v)))
	}
	return `OAuth realm="api", ` + strings.Join(parts, ", ")
}

// TestOAuthSignatureRFCVector checks the base string and HMAC against RFC 5849 section 1.2.
func TestOAuthSignatureRFCVector(t *testing.T) {
	r := httptest.NewRequest("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", nil)
	p := parseOAuthHeader(`realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", ` +
		`oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"`)
	if got := oauthSignature(sha1.New, r, p, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00"); got != p["oauth_signature"] {
		t.Fatalf("signature %q, want %q", got, p["oauth_signature"])
	}
}

func TestAuth(t *testing.T) {
	creds := OAuthCreds{Token: "tok/+=", Secret: "s&c r"}
	full := OAuthCreds{ConsumerKey: CleverToolsConsumerKey, ConsumerSecret: CleverToolsConsumerSecret, Token: creds.Token, Secret: creds.Secret}
	e, srv := start(t, Options{
		Apps: []App{
			{Backlog: 3},
			{Backlog: 3, Forbidden: true},
			{Backlog: 0, NotFoundUntilLogged: true},
		},
		Token:             "bearer-secret",
		OAuth:             creds,
		HeartbeatInterval: time.Hour,
	})
	apps := e.Apps()
	app := apps[0]
	since, until := allOf(e.Lines(app.ID))
	u := logsURL(srv, app, fast(since, until))
	plaintext := func(ck, tok, cs, ts string) string {
		return fmt.Sprintf(`OAuth oauth_consumer_key="%s", oauth_token="%s", oauth_signature="%s%%26%s"`, ck, pct(tok), pct(cs), pct(pct(ts)))
	}
	withQ := func(a App, kv ...string) string {
		q := fast(since, until)
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return logsURL(srv, a, q)
	}
	badBody := func(field, value string) string {
		return fmt.Sprintf(`{"code":"clever.core.bad-request","error":"The query parameter was malformed.","context":{"OVDErrorFieldContext":{"fieldName":%q,"fieldValue":%q}}}`, field, value)
	}
	unauthorized := `{"code":"clever.auth.unauthorized","error":"Unauthorized to access this resource."}`
	for _, tc := range []struct {
		name   string
		url    string
		auth   string
		status int
		scheme string
		body   string // exact body for errors, "" to skip
	}{
		{"bearer", u, "Bearer bearer-secret", 200, AuthBearer, ""},
		{"bearer wrong", u, "Bearer nope", 401, AuthBearer, unauthorized},
		{"none", u, "", 401, AuthNone, unauthorized},
		{"basic", u, "Basic dXNlcjpwYXNz", 401, AuthOther, unauthorized},
		{"plaintext clever-tools", u, plaintext(CleverToolsConsumerKey, creds.Token, CleverToolsConsumerSecret, creds.Secret), 200, AuthPlaintext, ""},
		{"plaintext explicit method", u, plaintext(CleverToolsConsumerKey, creds.Token, CleverToolsConsumerSecret, creds.Secret) + `, oauth_signature_method="PLAINTEXT"`, 200, AuthPlaintext, ""},
		{"plaintext wrong secret", u, plaintext(CleverToolsConsumerKey, creds.Token, CleverToolsConsumerSecret, "x"), 401, AuthPlaintext, unauthorized},
		{"plaintext wrong consumer", u, plaintext("other", creds.Token, CleverToolsConsumerSecret, creds.Secret), 401, AuthPlaintext, unauthorized},
		{"plaintext wrong token", u, plaintext(CleverToolsConsumerKey, "tok", CleverToolsConsumerSecret, creds.Secret), 401, AuthPlaintext, unauthorized},
		{"hmac-sha512", u, signHMAC(sha512.New, "HMAC-SHA512", u, full, "n1"), 200, "oauth-hmac-sha512", ""},
		{"hmac-sha512 other query", u + "&limit=1", signHMAC(sha512.New, "HMAC-SHA512", u, full, "n2"), 401, "oauth-hmac-sha512", unauthorized},
		{"hmac-sha512 wrong secret", u, signHMAC(sha512.New, "HMAC-SHA512", u, OAuthCreds{ConsumerKey: full.ConsumerKey, ConsumerSecret: full.ConsumerSecret, Token: full.Token, Secret: "x"}, "n3"), 401, "oauth-hmac-sha512", unauthorized},
		{"hmac-sha512 no nonce", u, signHMAC(sha512.New, "HMAC-SHA512", u, full, ""), 401, "oauth-hmac-sha512", unauthorized},
		{"forbidden", logsURL(srv, apps[1], nil), "Bearer bearer-secret", 403, AuthBearer, ""},
		{"not logged yet", logsURL(srv, apps[2], nil), "Bearer bearer-secret", 404, AuthBearer, ""},
		{"unknown app", logsURL(srv, App{OwnerID: app.OwnerID, ID: "app_00000000-0000-4000-8000-000000000000"}, nil), "Bearer bearer-secret", 404, AuthBearer,
			`{"code":"clever.core.not-found","error":"Partitioned Topic not found: persistent://` + app.OwnerID + `/logs/app_00000000-0000-4000-8000-000000000000"}`},
		{"wrong owner", logsURL(srv, App{OwnerID: "orga_x", ID: app.ID}, nil), "Bearer bearer-secret", 404, AuthBearer, ""},
		{"limit letters", withQ(app, "limit", "abc"), "Bearer bearer-secret", 400, AuthBearer, badBody("limit", "abc")},
		{"limit zero", withQ(app, "limit", "0"), "Bearer bearer-secret", 400, AuthBearer, badBody("limit", "0")},
		{"since", withQ(app, "since", "yesterday"), "Bearer bearer-secret", 400, AuthBearer, badBody("since", "yesterday")},
		{"until", withQ(app, "until", "2025-13-01T00:00:00Z"), "Bearer bearer-secret", 400, AuthBearer, badBody("until", "2025-13-01T00:00:00Z")},
		{"throttle", withQ(app, "throttleElements", "-1"), "Bearer bearer-secret", 400, AuthBearer, badBody("throttleElements", "-1")},
		{"throttle period", withQ(app, "throttlePerInMilliseconds", "x"), "Bearer bearer-secret", 400, AuthBearer, badBody("throttlePerInMilliseconds", "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			res := readAll(t, tc.url, hdr)
			if res.resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.resp.StatusCode, tc.status, res.body)
			}
			if tc.status != 200 {
				if ct := res.resp.Header.Get("Content-Type"); ct != "application/json" || !json.Valid(res.body) {
					t.Errorf("error content type %q body %q", ct, res.body)
				}
				if tc.body != "" && string(res.body) != tc.body {
					t.Errorf("body %s\nwant %s", res.body, tc.body)
				}
			} else if _, ended := logs(res.events); ended != "UNTIL_REACHED" {
				t.Errorf("ended %q", ended)
			}
			reqs := e.Requests()
			last := reqs[len(reqs)-1]
			if last.Auth != tc.scheme || last.Status != tc.status {
				t.Errorf("recorded auth %q status %d, want %q %d", last.Auth, last.Status, tc.scheme, tc.status)
			}
		})
	}
	dump := fmt.Sprintf("%+v %v %v", e.Requests(), creds, Options{Token: "bearer-secret", OAuth: creds})
	for _, secret := range []string{"bearer-secret", creds.Secret, CleverToolsConsumerSecret} {
		if strings.Contains(dump, secret) {
			t.Errorf("a secret shows in the request log or String(): %q", secret)
		}
	}
}

// TestOpenWithoutCredentials: an emulator without credentials accepts anything.
func TestOpenWithoutCredentials(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 2}}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	since, until := allOf(e.Lines(app.ID))
	for _, auth := range []string{"", "Bearer whatever"} {
		if res := readAll(t, logsURL(srv, app, fast(since, until)), map[string]string{"Authorization": auth}); res.resp.StatusCode != 200 {
			t.Fatalf("auth %q: status %d", auth, res.resp.StatusCode)
		}
	}
}
