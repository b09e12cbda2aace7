package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// stopSignals turns SIGTERM and SIGINT into the two tiers of a stop: the
// first cancels the run context (stop reading, drain, save, exit 0); a
// second one during the drain cancels the hard-stop context, with its
// signal as the cause: the drain ends at once, what is unwritten is
// abandoned (not checkpointed) and run exits with code 128+signal (143 for
// SIGTERM, 130 for SIGINT).
type stopSignals struct {
	hard     context.Context
	stopHard context.CancelCauseFunc
	code     atomic.Int32
}

// hardStopCode returns the exit code of a hard stop, or 0 if none came.
func (s *stopSignals) hardStopCode() int {
	if s == nil {
		return 0
	}
	return int(s.code.Load())
}

// watchStopSignals returns the run context, cancelled at the first
// SIGTERM or SIGINT, and the stopSignals of the second. stop releases the
// signals.
func watchStopSignals(parent context.Context) (context.Context, *stopSignals, func()) {
	ctx, cancel := context.WithCancel(parent)
	hard, stopHard := context.WithCancelCause(context.Background())
	s := &stopSignals{hard: hard, stopHard: stopHard}
	c := make(chan os.Signal, 2)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case sig := <-c:
				n++
				if n == 1 {
					cancel()
					continue
				}
				if ss, ok := sig.(syscall.Signal); ok {
					s.code.CompareAndSwap(0, int32(128+ss))
				}
				stopHard(fmt.Errorf("second %s during the drain", sigName(sig)))
			}
		}
	}()
	stop := func() {
		signal.Stop(c)
		close(done)
		cancel()
		stopHard(nil)
	}
	return ctx, s, stop
}

// signalContext is cancelled by SIGTERM or SIGINT (commands without a drain).
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
}

// sigName is SIGTERM, SIGINT…
func sigName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return sig.String()
}
