package emulator

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// messageTemplates are the shapes of generated messages. Placeholders: {n} the line's arrival
// position (so every message is unique), {r} a number below 1000, {R} a number below 100000,
// {h} eight hex digits. They mix ANSI escapes, non-ASCII text, quotes, backslashes, tabs,
// carriage returns and U+2028, all of which must survive JSON and SSE.
var messageTemplates = []string{
	"Listening on 0.0.0.0:8080 (worker {n})",
	"GET /api/v1/items/{R} HTTP/1.1 200 {r}ms req_id={h}-{n}",
	"POST /login 302 user=alice@example.com took {r}ms seq={n}",
	"\x1b[32mINFO\x1b[0m job {n} processed {r} records",
	"\x1b[1;31mERROR\x1b[0m cannot reach db-{r}.internal: connection refused (#{n})",
	"Démarrage du service « paiement » : étape {n} terminée en {r} ms",
	"ユーザー {R} がログインしました (イベント {n})",
	"deploy 🚀 step {n}: pulling image sha256:{h}{h}",
	`{"level":"info","msg":"structured \"quoted\" payload","n":{n},"took":{r}}`,
	`path C:\Users\app\logs\out-{r}.txt written (line {n})`,
	"col1\tcol2\tcol3\t{n}\t{R}",
	"progress 50%\r100% done for batch {n}",
	"Привет, мир! запрос {n} обработан за {r} мс",
	"GC pause {r}µs heap={R}KB ({n})",
	"    at com.example.Service.handle(Service.java:{r}) [frame {n}]",
	"paragraph\u2028separator and zero\u200bwidth space {n}",
	"Build succeeded in {r}s (step {n})",
	"warning: option --legacy is deprecated and will be removed ({n}/{R})",
	"Ωmega ≠ alpha; naïve café façade, 中文日志 {n}",
	"bell\x07 and escape\x1b[0m mixed with <html>&amp; {n}",
}

// placeholder kinds of a template part.
const (
	phNone byte = iota
	phPos
	phSmall
	phLarge
	phHex
)

type msgPart struct {
	raw  string // literal text as logged
	json string // the same, escaped for a JSON string
	ph   byte   // placeholder that follows the literal
}

type msgTemplate []msgPart

func parseTemplates(src []string) []msgTemplate {
	out := make([]msgTemplate, len(src))
	for i, s := range src {
		var t msgTemplate
		for {
			j := strings.IndexByte(s, '{')
			ph := phNone
			if j >= 0 && j+2 < len(s) && s[j+2] == '}' {
				switch s[j+1] {
				case 'n':
					ph = phPos
				case 'r':
					ph = phSmall
				case 'R':
					ph = phLarge
				case 'h':
					ph = phHex
				}
			}
			if j < 0 || ph == phNone {
				if j >= 0 { // a literal brace: keep it and continue after it
					t = append(t, msgPart{raw: s[:j+1], json: string(appendJSONString(nil, s[:j+1]))})
					s = s[j+1:]
					continue
				}
				t = append(t, msgPart{raw: s, json: string(appendJSONString(nil, s))})
				break
			}
			t = append(t, msgPart{raw: s[:j], json: string(appendJSONString(nil, s[:j])), ph: ph})
			s = s[j+3:]
		}
		out[i] = t
	}
	return out
}

var templates = parseTemplates(messageTemplates)

// filler pads messages (ASCII, no escaping needed).
const filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "

// appendMessage appends the message of a line; escaped selects the JSON-escaped form.
// pad, when > 0, pads the raw message to at least pad bytes.
func appendMessage(dst []byte, tmpl uint8, pos int64, n uint32, pad int, escaped bool) []byte {
	rawLen := 0
	for _, p := range templates[tmpl] {
		if escaped {
			dst = append(dst, p.json...)
		} else {
			dst = append(dst, p.raw...)
		}
		rawLen += len(p.raw)
		before := len(dst)
		switch p.ph {
		case phPos:
			dst = strconv.AppendInt(dst, pos, 10)
		case phSmall:
			dst = strconv.AppendUint(dst, uint64(n%1000), 10)
		case phLarge:
			dst = strconv.AppendUint(dst, uint64(n%100000), 10)
		case phHex:
			for s := 28; s >= 0; s -= 4 {
				dst = append(dst, hexDigits[(n>>uint(s))&0xf])
			}
		}
		rawLen += len(dst) - before
	}
	for rawLen < pad {
		k := min(pad-rawLen, len(filler))
		dst = append(dst, filler[:k]...)
		rawLen += k
	}
	return dst
}

// appendJSONString appends s escaped for the inside of a JSON string (quotes not included).
// Invalid UTF-8 is copied as is (the emulator only does that on purpose, for faults).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// foldMatcher tests "case-insensitive substring of message".
type foldMatcher struct {
	needle []byte // lower-cased
	ascii  bool
}

func newFoldMatcher(s string) *foldMatcher {
	low := strings.ToLower(s)
	ascii := true
	for i := 0; i < len(low); i++ {
		if low[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	return &foldMatcher{needle: []byte(low), ascii: ascii}
}

func (m *foldMatcher) match(hay []byte) bool {
	if !m.ascii {
		return strings.Contains(strings.ToLower(string(hay)), string(m.needle))
	}
	n := m.needle
	if len(n) == 0 {
		return true
	}
outer:
	for i := 0; i+len(n) <= len(hay); i++ {
		for j := range n {
			c := hay[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != n[j] {
				continue outer
			}
		}
		return true
	}
	return false
}
