package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A password is checked only in a slot of the bounded pool: with every
// slot taken, a check waits, and gives up when its request does (issue 9,
// defect 3: 100 parallel checks took memory from 99 MB to 946 MB).
func TestCheckPassword_WaitsForASlotOfTheBoundedPool(t *testing.T) {
	hash := HashPassword("a long enough password")
	for range cap(passwordSlots) {
		passwordSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ok, err := checkPasswordCtx(ctx, hash, "a long enough password")
	for range cap(passwordSlots) {
		<-passwordSlots
	}
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with every slot taken: ok=%v err=%v, want the deadline", ok, err)
	}
	if ok, err := checkPasswordCtx(context.Background(), hash, "a long enough password"); !ok || err != nil {
		t.Fatalf("with a free slot: ok=%v err=%v", ok, err)
	}
}
