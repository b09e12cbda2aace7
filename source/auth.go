package source

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Authorizer sets the Authorization header of an API request.
type Authorizer interface {
	Authorize(r *http.Request)
}

// Bearer authorizes with an API token.
type Bearer string

// Authorize implements Authorizer.
func (t Bearer) Authorize(r *http.Request) { r.Header.Set("Authorization", "Bearer "+string(t)) }

// OAuth1 authorizes with OAuth1 credentials, as clever-tools does.
type OAuth1 struct {
	ConsumerKey, ConsumerSecret, Token, Secret string
	// HMAC selects an RFC 5849 HMAC-SHA512 signature instead of the
	// PLAINTEXT one clever-tools sends.
	HMAC bool
	// now and nonce are replaced in tests.
	now   func() time.Time
	nonce func() string
}

// Authorize implements Authorizer.
func (o OAuth1) Authorize(r *http.Request) {
	if !o.HMAC {
		// clever-tools' minimal PLAINTEXT header.
		r.Header.Set("Authorization", `OAuth oauth_consumer_key="`+pct(o.ConsumerKey)+
			`", oauth_token="`+pct(o.Token)+
			`", oauth_signature="`+pct(o.ConsumerSecret)+"%26"+pct(o.Secret)+`"`)
		return
	}
	now, nonce := time.Now, randomNonce
	if o.now != nil {
		now = o.now
	}
	if o.nonce != nil {
		nonce = o.nonce
	}
	params := map[string]string{
		"oauth_consumer_key":     o.ConsumerKey,
		"oauth_token":            o.Token,
		"oauth_signature_method": "HMAC-SHA512",
		"oauth_timestamp":        strconv.FormatInt(now().Unix(), 10),
		"oauth_nonce":            nonce(),
		"oauth_version":          "1.0",
	}
	params["oauth_signature"] = o.signature(r.Method, r.URL, params)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + `="` + pct(params[k]) + `"`)
	}
	r.Header.Set("Authorization", b.String())
}

// signature computes the RFC 5849 HMAC-SHA512 signature of a request.
func (o OAuth1) signature(method string, u *url.URL, oauth map[string]string) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, kv{pct(k), pct(v)})
		}
	}
	for k, v := range oauth {
		pairs = append(pairs, kv{pct(k), pct(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	norm := make([]string, len(pairs))
	for i, p := range pairs {
		norm[i] = p.k + "=" + p.v
	}
	base := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.EscapedPath()
	text := strings.ToUpper(method) + "&" + pct(base) + "&" + pct(strings.Join(norm, "&"))
	mac := hmac.New(sha512.New, []byte(pct(o.ConsumerSecret)+"&"+pct(o.Secret)))
	mac.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// pct is RFC 3986 percent-encoding, as RFC 5849 requires: everything but
// ALPHA, DIGIT, '-', '.', '_' and '~' is encoded.
func pct(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
