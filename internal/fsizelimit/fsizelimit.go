// Package fsizelimit lets a test cut a write short for real: it runs the
// test in a child process of its own (RLIMIT_FSIZE limits every file the
// process writes) and lowers that process's file-size limit, so that a
// write past it fails with EFBIG after writing what fits (Go ignores
// SIGXFSZ). It is for tests only.
package fsizelimit

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// childEnv carries the child's argument; its presence makes the test
// binary play the child.
const childEnv = "LOGSHIP_FSIZE_CHILD"

// Set sets the soft RLIMIT_FSIZE of this process to n bytes (at most the
// hard limit, which stays, so the soft one can be raised again with
// Set(math.MaxUint64)).
func Set(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	lim.Cur = min(n, lim.Max)
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
}

// RunChild runs the test named test again in a child process, with arg
// for its Child call, and fails t if the child fails.
func RunChild(t *testing.T, test, arg string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+arg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
}

// Child runs body with RunChild's arg when this process is the child, and
// reports whether it is; a failing body exits the child with status 3.
// A test calls it first: `if fsizelimit.Child(body) { return }`.
func Child(body func(arg string) error) bool {
	arg := os.Getenv(childEnv)
	if arg == "" {
		return false
	}
	if err := body(arg); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	return true
}
