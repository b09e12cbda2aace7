//go:build linux

package main

import (
	"syscall"
	"unsafe"
)

// shortWriteSupported: Linux limits a process's file size with prlimit, and
// the Go runtime ignores SIGXFSZ, so a write past the limit is short and
// then fails with EFBIG, as on a full disk.
const shortWriteSupported = true

// setFileSizeLimit sets RLIMIT_FSIZE of process pid to limit bytes (< 0:
// unlimited).
func setFileSizeLimit(pid int, limit int64) error {
	lim := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if limit >= 0 {
		lim.Cur = uint64(limit)
	}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
