package testgateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kore-billing/korebill/billing"
)

// The ledger: without one, charges, refunds and their idempotency keys live
// in memory and a killed process forgets them, so nothing can ask what
// became of a charge it made. OpenLedger keeps them in a file of their own,
// one JSON line per charge or refund, appended before the call answers and
// read back at open: the gateway's memory then survives a SIGKILL (the
// written lines are the kernel's once write returns; only a machine crash
// could lose the last ones), and `korebill reconcile` in another process can
// ask it. Several processes may share the file: each reads what the others
// appended before it answers a call.

// ledgerEntry is one line of the ledger.
type ledgerEntry struct {
	Kind    string                `json:"kind"` // charge or refund
	Request string                `json:"request"`
	Charge  *ChargeRecord         `json:"charge,omitempty"`
	Result  *billing.ChargeResult `json:"result,omitempty"`
	Refund  *RefundRecord         `json:"refund,omitempty"`
}

// OpenLedger makes the gateway keep its charges, refunds and keys in the file
// at path (created if missing), and loads what an earlier process left there.
func (g *Gateway) OpenLedger(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("testgateway: open ledger: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ledger = f
	return g.catchUp()
}

// Close closes the ledger, if any.
func (g *Gateway) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ledger == nil {
		return nil
	}
	err := g.ledger.Close()
	g.ledger = nil
	return err
}

// catchUp reads the lines appended since the last read, by this process or
// another. A last line cut short (a process killed while writing it) is
// left for the next read. The caller holds g.mu.
func (g *Gateway) catchUp() error {
	if g.ledger == nil {
		return nil
	}
	data, err := io.ReadAll(io.NewSectionReader(g.ledger, g.ledgerOffset, 1<<62))
	if err != nil {
		return fmt.Errorf("testgateway: read ledger: %w", err)
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data[:end+1]))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var e ledgerEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("testgateway: ledger line after offset %d: %w", g.ledgerOffset, err)
		}
		g.load(e)
	}
	g.ledgerOffset += int64(end + 1)
	return sc.Err()
}

// load puts a ledger entry in memory unless it is there already (this
// process's own line). The caller holds g.mu.
func (g *Gateway) load(e ledgerEntry) {
	switch {
	case e.Kind == "charge" && e.Charge != nil && e.Result != nil:
		if _, ok := g.keys[e.Charge.IdempotencyKey]; ok {
			return
		}
		rec := *e.Charge
		g.charges = append(g.charges, &rec)
		g.byRef[rec.Ref] = &rec
		g.byKey[rec.IdempotencyKey] = &rec
		g.keys[rec.IdempotencyKey] = keyed{request: e.Request, result: *e.Result}
	case e.Kind == "refund" && e.Refund != nil:
		if _, ok := g.keys[e.Refund.IdempotencyKey]; ok {
			return
		}
		rec := *e.Refund
		if ch, ok := g.byRef[rec.ChargeRef]; ok {
			ch.Refunded = ch.Refunded.Add(rec.Amount)
		}
		g.refunds = append(g.refunds, rec)
		g.keys[rec.IdempotencyKey] = keyed{request: e.Request,
			result: billing.RefundResult{GatewayRef: rec.Ref, Status: billing.RefundSucceeded}}
	}
}

// record appends an entry to the ledger, if any. The caller holds g.mu and
// has put the entry in memory; a write that fails fails the call, so that
// nothing is answered that the ledger does not hold.
func (g *Gateway) record(e ledgerEntry) error {
	if g.ledger == nil {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := g.ledger.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("testgateway: write ledger: %w", err)
	}
	// Our own line is in memory already; catchUp skips it by its key.
	return nil
}

// LookupCharge answers what became of a charge, by its reference or, when
// the caller has none, by the idempotency key it was made with. It charges
// nothing and ignores the fault profile.
func (g *Gateway) LookupCharge(ctx context.Context, q billing.ChargeLookup) (billing.ChargeResult, bool, error) {
	if err := ctx.Err(); err != nil {
		return billing.ChargeResult{}, false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unavailable {
		return billing.ChargeResult{}, false, ErrUnavailable
	}
	if err := g.catchUp(); err != nil {
		return billing.ChargeResult{}, false, err
	}
	rec, ok := g.byRef[q.GatewayRef]
	if !ok && q.IdempotencyKey != "" {
		rec, ok = g.byKey[q.IdempotencyKey]
	}
	if !ok {
		return billing.ChargeResult{}, false, nil
	}
	k := g.keys[rec.IdempotencyKey]
	res, _ := k.result.(billing.ChargeResult)
	return res, true, nil
}
