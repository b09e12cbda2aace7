package config

import (
	"io/fs"
	"strconv"
	"time"
)

// setDefaults fills the file sink's unset settings (after decoding).
func (s *FileSink) setDefaults() {
	if s.Fsync == "" {
		s.Fsync = "batch"
	}
	if s.FsyncInterval == 0 {
		s.FsyncInterval = time.Second
	}
	if s.Mode == "" {
		s.Mode = "0640"
	}
	if s.ReconcileBytes == 0 {
		s.ReconcileBytes = 64 << 20
	}
}

// validate returns the file sink's problems; path is the sink's key path.
func (s *FileSink) validate(path string) []Problem {
	var ps Problems
	if s.Path == "" {
		ps.add(path+".path", "required")
	}
	switch s.Fsync {
	case "batch", "interval", "never":
	default:
		ps.add(path+".fsync", "must be batch, interval or never")
	}
	if s.FsyncInterval <= 0 {
		ps.add(path+".fsync_interval", "must be positive")
	}
	if _, ok := s.FileMode(); !ok {
		ps.add(path+".mode", "must be octal permission bits such as 0640")
	}
	if s.ReconcileBytes < 0 {
		ps.add(path+".reconcile_bytes", "must not be negative")
	}
	return ps
}

// FileMode returns Mode parsed (octal, such as 0640 or 640); ok is false
// when it is not permission bits.
func (s FileSink) FileMode() (mode fs.FileMode, ok bool) {
	v, err := strconv.ParseUint(s.Mode, 8, 32)
	if err != nil || v > 0o777 {
		return 0, false
	}
	return fs.FileMode(v), true
}
