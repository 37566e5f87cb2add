package testgateway

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Faults is a fault profile: the share of Charge calls (0 to 1 each, at most
// 1 together) that go wrong in each way, so that a reliability run needs no
// code change (`korebill serve --gateway-faults
// 'timeout_after_charge=0.05,timeout_before_charge=0.05,error=0.05,slow=0.1'`).
type Faults struct {
	// TimeoutAfterCharge: the charge is made (or replayed) and its answer
	// is lost: ErrTimeout, outcome unknown to the caller.
	TimeoutAfterCharge float64
	// TimeoutBeforeCharge: nothing is done and the caller hears nothing:
	// ErrTimeout.
	TimeoutBeforeCharge float64
	// Error: the gateway fails on its side: a new charge is declined with
	// processing_error (retryable), as Stripe answers a processor's error.
	Error float64
	// Slow: the call waits SlowFor first (a call whose context ends while it
	// waits does nothing and returns the context's error).
	Slow float64
	// SlowFor is how long a slow call waits; 0 means 200 ms.
	SlowFor time.Duration
}

// Zero reports whether no fault is switched on.
func (f Faults) Zero() bool {
	return f.TimeoutAfterCharge == 0 && f.TimeoutBeforeCharge == 0 && f.Error == 0 && f.Slow == 0
}

// ParseFaults reads a profile "name=share,…" with the names
// timeout_after_charge, timeout_before_charge, error, slow (shares from 0 to
// 1) and slow_ms (milliseconds). "" is no fault.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	s = strings.TrimSpace(s)
	if s == "" {
		return f, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Faults{}, fmt.Errorf("testgateway: fault %q is not name=value", part)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || x < 0 {
			return Faults{}, fmt.Errorf("testgateway: fault %s: %q is not a number of 0 or more", name, value)
		}
		switch strings.TrimSpace(name) {
		case "timeout_after_charge":
			f.TimeoutAfterCharge = x
		case "timeout_before_charge":
			f.TimeoutBeforeCharge = x
		case "error":
			f.Error = x
		case "slow":
			f.Slow = x
		case "slow_ms":
			f.SlowFor = time.Duration(x * float64(time.Millisecond))
			continue
		default:
			return Faults{}, fmt.Errorf("testgateway: unknown fault %q (timeout_after_charge, timeout_before_charge, error, slow, slow_ms)", name)
		}
		if x > 1 {
			return Faults{}, fmt.Errorf("testgateway: fault %s: a share is at most 1", name)
		}
	}
	if f.TimeoutAfterCharge+f.TimeoutBeforeCharge+f.Error > 1 {
		return Faults{}, fmt.Errorf("testgateway: the fault shares add up to more than 1")
	}
	return f, nil
}

// String is the profile as ParseFaults reads it.
func (f Faults) String() string {
	var parts []string
	add := func(name string, x float64) {
		if x > 0 {
			parts = append(parts, name+"="+strconv.FormatFloat(x, 'g', -1, 64))
		}
	}
	add("timeout_after_charge", f.TimeoutAfterCharge)
	add("timeout_before_charge", f.TimeoutBeforeCharge)
	add("error", f.Error)
	add("slow", f.Slow)
	if f.SlowFor > 0 {
		parts = append(parts, "slow_ms="+strconv.FormatInt(f.SlowFor.Milliseconds(), 10))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// SetFaults switches the profile on; seed makes it deterministic: whether a
// call goes wrong depends only on the seed, the idempotency key and how
// many times this process was called with that key, not on timing or the
// order of concurrent calls.
func (g *Gateway) SetFaults(f Faults, seed int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults, g.faultSeed = f, seed
	g.calls = map[string]int{}
}

// fault is what goes wrong with this call of Charge with key: "" for
// nothing. The caller holds g.mu.
type fault string

const (
	faultNone          fault = ""
	faultTimeoutAfter  fault = "timeout_after"
	faultTimeoutBefore fault = "timeout_before"
	faultError         fault = "error"
)

// roll draws the call's faults: the kind, and whether it is slow.
func (g *Gateway) roll(key string) (fault, bool) {
	if g.faults.Zero() {
		return faultNone, false
	}
	n := g.calls[key]
	g.calls[key] = n + 1
	draw := func(salt string) float64 {
		h := sha256.Sum256([]byte(strconv.FormatInt(g.faultSeed, 10) + "\x00" + key + "\x00" + strconv.Itoa(n) + "\x00" + salt))
		return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	}
	slow := draw("slow") < g.faults.Slow
	x := draw("kind")
	switch f := g.faults; {
	case x < f.TimeoutAfterCharge:
		return faultTimeoutAfter, slow
	case x < f.TimeoutAfterCharge+f.TimeoutBeforeCharge:
		return faultTimeoutBefore, slow
	case x < f.TimeoutAfterCharge+f.TimeoutBeforeCharge+f.Error:
		return faultError, slow
	}
	return faultNone, slow
}

// wait waits d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// processorError is the decline of an Error fault.
func processorError() (billing.ChargeStatus, string, string, bool) {
	return billing.ChargeFailed, billing.FailureProcessingError,
		"An error occurred while processing your card. Try again in a little bit.", true
}
