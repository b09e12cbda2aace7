//go:build !linux

package main

import "errors"

// shortWriteSupported: file size limits of another process are set on
// Linux only.
const shortWriteSupported = false

func setFileSizeLimit(int, int64) error { return errors.New("file size limits need Linux") }
