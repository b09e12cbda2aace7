package config

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes. In YAML it is an integer, or a number
// with a unit: k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of
// 1024), optionally followed by B, as in 64MiB or 1.5GB.
type ByteSize int64

const byteSizeMessage = "must be a byte size such as 1048576, 512KiB or 64MiB"

// UnmarshalYAML implements yaml.Unmarshaler. Its error never quotes the
// value.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errorString(byteSizeMessage)
	}
	v, ok := parsePlainInt(n.Value)
	if !ok {
		v, ok = parseByteSize(n.Value)
	}
	if !ok {
		return errorString(byteSizeMessage)
	}
	*b = ByteSize(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler: a plain integer.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

// Int returns b as an int (saturated).
func (b ByteSize) Int() int {
	if int64(b) > math.MaxInt {
		return math.MaxInt
	}
	return int(b)
}

// Duration is a length of time. In YAML it is written as Go's
// time.ParseDuration reads it: 500ms, 2s, 1m30s, 0. Every duration key of
// the configuration has this type: what a key holds is decided by its
// type, never by its name.
type Duration time.Duration

const durationMessage = "must be a duration such as 500ms, 2s or 1m30s"

// UnmarshalYAML implements yaml.Unmarshaler. Its error never quotes the
// value.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errorString(durationMessage)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return errorString(durationMessage)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler: the duration as UnmarshalYAML
// reads it (1m30s).
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d as time.Duration writes it.
func (d Duration) String() string { return time.Duration(d).String() }

// errorString is an error holding a fixed message.
type errorString string

func (e errorString) Error() string { return string(e) }

// parsePlainInt parses a YAML integer: decimal (a leading 0 is not octal),
// 0x, 0o or 0b, `_` between digits.
func parsePlainInt(s string) (int64, bool) {
	body := strings.TrimLeft(s, "+-")
	if len(body) > 1 && body[0] == '0' && body[1] >= '0' && body[1] <= '9' {
		// 0640 is 640, as in YAML 1.2; base 0 would read it as octal.
		s = s[:len(s)-len(body)] + strings.TrimLeft(body, "0")
		if strings.TrimLeft(body, "0") == "" {
			return 0, true
		}
	}
	i, err := strconv.ParseInt(s, 0, 64)
	return i, err == nil
}

// parseByteSize parses a non-negative number with a unit (see ByteSize).
func parseByteSize(s string) (int64, bool) {
	num := strings.TrimRight(s, "kKmMgGtTiB ")
	unit := strings.TrimSpace(s[len(num):])
	if num == "" || unit == "" || strings.HasPrefix(num, "-") {
		return 0, false
	}
	unit = strings.TrimSuffix(unit, "B")
	mult := 1.0
	if unit != "" {
		base := 1000.0
		if strings.HasSuffix(unit, "i") {
			base, unit = 1024, strings.TrimSuffix(unit, "i")
		}
		p := strings.Index("KMGT", strings.ToUpper(unit))
		if len(unit) != 1 || p < 0 {
			return 0, false
		}
		mult = math.Pow(base, float64(p+1))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || f < 0 {
		return 0, false
	}
	b := f * mult
	if b >= math.MaxInt64 || b != math.Trunc(b) {
		return 0, false
	}
	return int64(b), true
}
