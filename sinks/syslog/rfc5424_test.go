package syslog

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// message is one RFC 5424 message as the test receiver parsed it.
type message struct {
	Pri       int
	Time      time.Time // zero for NILVALUE
	Hostname  string    // "" for NILVALUE, likewise below
	AppName   string
	ProcID    string
	MsgID     string
	SD        map[string]map[string]string // SD-ID → param → value
	SDOrder   []string
	Msg       string
	HasMsg    bool
	RawLength int
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$`)

// parse5424 parses one SYSLOG-MSG strictly, as RFC 5424 section 6 writes
// it: every header field within its length and character set, structured
// data with escaped PARAM-VALUEs, MSG in UTF-8 (with or without BOM).
func parse5424(b []byte) (*message, error) {
	m := &message{RawLength: len(b)}
	p := &parser{b: b}
	if !p.eat('<') {
		return nil, p.fail("PRI must start with '<'")
	}
	digits := p.while(isDigit)
	if len(digits) < 1 || len(digits) > 3 || (len(digits) > 1 && digits[0] == '0') {
		return nil, p.fail("PRIVAL")
	}
	m.Pri, _ = strconv.Atoi(digits)
	if m.Pri > 191 {
		return nil, p.fail("PRIVAL > 191")
	}
	if !p.eat('>') || !p.eat('1') || !p.eat(' ') {
		return nil, p.fail("want '>1 '")
	}
	ts := p.field()
	if ts != "-" {
		if !timestampRE.MatchString(ts) {
			return nil, p.fail("TIMESTAMP " + strconv.Quote(ts))
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, p.fail("TIMESTAMP: " + err.Error())
		}
		m.Time = t
	}
	var err error
	for _, f := range []struct {
		dst  *string
		max  int
		name string
	}{{&m.Hostname, 255, "HOSTNAME"}, {&m.AppName, 48, "APP-NAME"}, {&m.ProcID, 128, "PROCID"}, {&m.MsgID, 32, "MSGID"}} {
		if !p.eat(' ') {
			return nil, p.fail("want SP before " + f.name)
		}
		v := p.field()
		if v == "" || len(v) > f.max {
			return nil, p.fail(f.name + " length")
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 33 || v[i] > 126 {
				return nil, p.fail(f.name + " character")
			}
		}
		if v != "-" {
			*f.dst = v
		}
	}
	if !p.eat(' ') {
		return nil, p.fail("want SP before STRUCTURED-DATA")
	}
	if m.SD, m.SDOrder, err = p.structuredData(); err != nil {
		return nil, err
	}
	if p.i == len(b) {
		return m, nil
	}
	if !p.eat(' ') {
		return nil, p.fail("want SP before MSG")
	}
	msg := b[p.i:]
	if len(msg) >= 3 && string(msg[:3]) == "\xEF\xBB\xBF" {
		msg = msg[3:]
	}
	if !utf8.Valid(msg) {
		return nil, p.fail("MSG is not UTF-8")
	}
	m.Msg, m.HasMsg = string(msg), true
	return m, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("rfc5424: at byte %d: %s", p.i, what)
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) while(ok func(byte) bool) string {
	start := p.i
	for p.i < len(p.b) && ok(p.b[p.i]) {
		p.i++
	}
	return string(p.b[start:p.i])
}

// field reads up to the next SP.
func (p *parser) field() string { return p.while(func(c byte) bool { return c != ' ' }) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSDName(c byte) bool { return c >= 33 && c <= 126 && c != '=' && c != ']' && c != '"' }

func (p *parser) sdName(what string) (string, error) {
	n := p.while(isSDName)
	if n == "" || len(n) > 32 {
		return "", p.fail(what + " length")
	}
	return n, nil
}

func (p *parser) structuredData() (map[string]map[string]string, []string, error) {
	if p.eat('-') {
		return nil, nil, nil
	}
	sd := map[string]map[string]string{}
	var order []string
	for p.eat('[') {
		id, err := p.sdName("SD-ID")
		if err != nil {
			return nil, nil, err
		}
		if _, dup := sd[id]; dup {
			return nil, nil, p.fail("SD-ID repeated")
		}
		params := map[string]string{}
		for p.eat(' ') {
			name, err := p.sdName("PARAM-NAME")
			if err != nil {
				return nil, nil, err
			}
			if !p.eat('=') || !p.eat('"') {
				return nil, nil, p.fail(`want ="`)
			}
			var v []byte
			for {
				if p.i >= len(p.b) {
					return nil, nil, p.fail("unterminated PARAM-VALUE")
				}
				c := p.b[p.i]
				p.i++
				if c == '"' {
					break
				}
				if c == ']' {
					return nil, nil, p.fail("unescaped ']' in PARAM-VALUE")
				}
				if c == '\\' && p.i < len(p.b) && (p.b[p.i] == '"' || p.b[p.i] == '\\' || p.b[p.i] == ']') {
					c = p.b[p.i]
					p.i++
				}
				v = append(v, c)
			}
			if !utf8.Valid(v) {
				return nil, nil, p.fail("PARAM-VALUE is not UTF-8")
			}
			params[name] = string(v)
		}
		if !p.eat(']') {
			return nil, nil, p.fail("want ']'")
		}
		sd[id] = params
		order = append(order, id)
	}
	if len(order) == 0 {
		return nil, nil, errors.New("rfc5424: STRUCTURED-DATA is neither '-' nor an element")
	}
	return sd, order, nil
}
