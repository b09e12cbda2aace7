package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Auth schemes recorded in Request.Auth.
const (
	AuthNone      = "none"
	AuthBearer    = "bearer"
	AuthPlaintext = "oauth-plaintext"
	AuthHMAC      = "oauth-hmac" // followed by the method, e.g. "oauth-hmac-sha512"
	AuthOther     = "other"
)

// checkAuth returns the scheme of r's Authorization header and whether it is accepted.
// When no credentials are configured every request is accepted.
func (e *Emulator) checkAuth(r *http.Request) (scheme string, ok bool) {
	h := r.Header.Get("Authorization")
	open := e.opts.Token == "" && e.opts.OAuth.Token == ""
	scheme, ok = AuthNone, false
	switch {
	case h == "":
	case hasPrefixFold(h, "Bearer "):
		scheme = AuthBearer
		tok := strings.TrimSpace(h[len("Bearer "):])
		ok = e.opts.Token != "" && secretEqual(tok, e.opts.Token)
	case hasPrefixFold(h, "OAuth "):
		scheme, ok = e.checkOAuth(r, h[len("OAuth "):])
	default:
		scheme = AuthOther
	}
	return scheme, ok || open
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// parseOAuthHeader splits `k="v", k2="v2"` and percent-decodes the values.
func parseOAuthHeader(s string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

var hmacMethods = map[string]func() hash.Hash{
	"HMAC-SHA512": sha512.New,
	"HMAC-SHA256": sha256.New,
	"HMAC-SHA1":   sha1.New,
}

func (e *Emulator) checkOAuth(r *http.Request, header string) (string, bool) {
	p := parseOAuthHeader(header)
	c := e.oauth
	method := strings.ToUpper(p["oauth_signature_method"])
	scheme := AuthPlaintext
	if method != "" && method != "PLAINTEXT" {
		scheme = AuthHMAC + "-" + strings.ToLower(strings.TrimPrefix(method, "HMAC-"))
	}
	if c.Token == "" || !secretEqual(p["oauth_consumer_key"], c.ConsumerKey) || !secretEqual(p["oauth_token"], c.Token) {
		return scheme, false
	}
	sig := p["oauth_signature"]
	if scheme == AuthPlaintext {
		// PLAINTEXT: signature = encode(consumer secret) "&" encode(token secret).
		cs, ts, found := strings.Cut(sig, "&")
		if !found {
			return scheme, false
		}
		cs, err1 := url.PathUnescape(cs)
		ts, err2 := url.PathUnescape(ts)
		return scheme, err1 == nil && err2 == nil && secretEqual(cs, c.ConsumerSecret) && secretEqual(ts, c.Secret)
	}
	newHash, known := hmacMethods[method]
	if !known || p["oauth_timestamp"] == "" || p["oauth_nonce"] == "" {
		return scheme, false
	}
	want := oauthSignature(newHash, r, p, c.ConsumerSecret, c.Secret)
	return scheme, hmac.Equal([]byte(sig), []byte(want))
}

// oauthSignature computes the RFC 5849 HMAC signature of r with the header parameters p.
func oauthSignature(newHash func() hash.Hash, r *http.Request, p map[string]string, consumerSecret, tokenSecret string) string {
	type kv struct{ k, v string }
	var params []kv
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			params = append(params, kv{oauthEscape(k), oauthEscape(v)})
		}
	}
	for k, v := range p {
		if k == "oauth_signature" || k == "realm" {
			continue
		}
		params = append(params, kv{oauthEscape(k), oauthEscape(v)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var norm strings.Builder
	for i, x := range params {
		if i > 0 {
			norm.WriteByte('&')
		}
		norm.WriteString(x.k + "=" + x.v)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	base := strings.ToUpper(r.Method) + "&" + oauthEscape(scheme+"://"+host+r.URL.EscapedPath()) + "&" + oauthEscape(norm.String())
	m := hmac.New(newHash, []byte(oauthEscape(consumerSecret)+"&"+oauthEscape(tokenSecret)))
	m.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// oauthEscape percent-encodes everything but RFC 3986 unreserved characters.
func oauthEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&0xf])
	}
	return b.String()
}
