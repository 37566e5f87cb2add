package engine

import (
	"context"
	"log/slog"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// RefundRequest gives back Amount (minor units) of what an invoice was
// paid, for Reason.
type RefundRequest struct {
	Amount int64
	Reason string
}

// RefundResult is a refund, the credit note that documents it, and the
// invoice refunded.
type RefundResult struct {
	Refund     *store.Refund
	CreditNote *billing.Invoice // nil until the refund has succeeded
	Invoice    *billing.Invoice
}

// RefundInvoice refunds part or all of what an invoice was paid (an
// operator's action): DESIGN "Refunds (operator) issue a credit note and a
// refund transaction". The amount comes back from one payment, the newest
// that has enough left: a card payment through the gateway's Refund, with
// the key "refund:<refund id>", written and committed before the call like
// a charge; a bank transfer is returned outside and only recorded. Once it
// has succeeded, a credit note of the amount corrects the invoice
// (Finalized invoices never change; corrections are credit notes); it is
// settled by the refund, so unlike IssueCreditNote it does not go to the
// credit balance, which would give the money back twice.
//
// Refused, and nothing written: more than was paid and not yet refunded,
// more than one payment has left, more than the invoice leaves to credit,
// an invoice that was not paid, a refund of it in flight.
func (e *Engine) RefundInvoice(ctx context.Context, invoiceID int64, req RefundRequest) (*RefundResult, error) {
	var v billing.Validation
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Amount < 1 {
		v.Add("amount", "A refund gives back at least one minor unit.")
	}
	if req.Reason == "" || len(req.Reason) > 400 {
		v.Add("reason", "Say why, in at most 400 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var r *store.Refund
	var out RefundResult
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		inv, st, err := e.openInvoice(ctx, tx, invoiceID)
		if err != nil {
			return err
		}
		if inv.Kind == billing.InvoiceCreditNote || !inv.Status.Finalized() || inv.Status == billing.InvoiceVoid {
			return billing.ReasonErrorf(billing.ESTATE, "not_refundable", "Invoice %s is %s %s; only a paid invoice is refunded.",
				inv.Number, inv.Status, inv.Kind)
		}
		refunds, err := tx.InvoiceRefunds(inv.ID)
		if err != nil {
			return err
		}
		for _, old := range refunds {
			if old.Status.InFlight() {
				return billing.ReasonErrorf(billing.ESTATE, "refund_in_progress", "A refund of invoice %s is in progress; wait for its outcome.", inv.Number)
			}
		}
		payments, err := tx.InvoicePayments(inv.ID)
		if err != nil {
			return err
		}
		var refundable, largest int64
		var from *store.Payment
		for i := len(payments) - 1; i >= 0; i-- {
			p := payments[i]
			if p.Status != store.PaymentSucceeded {
				continue
			}
			left := p.Amount.Amount - p.AmountRefunded.Amount
			refundable += left
			largest = max(largest, left)
			if from == nil && left >= req.Amount {
				from = p
			}
		}
		money := func(n int64) string { return billing.NewMoney(n, inv.Currency).String() }
		amountErr := func(reason, msg, field string) error {
			return &billing.Error{Code: billing.EINVALID, Reason: reason, Message: msg,
				Fields: []billing.FieldError{{Field: "amount", Message: field}}}
		}
		switch {
		case refundable == 0:
			return billing.ReasonErrorf(billing.ESTATE, "not_refundable", "Nothing was paid on invoice %s that is not refunded already.", inv.Number)
		case req.Amount > refundable:
			return amountErr("refund_exceeds_paid", "Only "+money(refundable)+" of invoice "+inv.Number+
				" was paid and not refunded; a refund of "+money(req.Amount)+" is more.", "At most "+money(refundable)+".")
		case from == nil:
			return amountErr("refund_exceeds_payment", "A refund comes from one payment; the largest left on invoice "+
				inv.Number+" is "+money(largest)+". Refund the rest separately.", "At most "+money(largest)+" at once.")
		}
		given, err := tx.CreditNotesTotal(inv.ID)
		if err != nil {
			return err
		}
		if left := inv.Total.Amount - given; req.Amount > left {
			return amountErr("credit_exceeds_invoice", "Invoice "+inv.Number+" has only "+money(max(left, 0))+
				" left to credit; its credit notes gave back the rest.", "At most "+money(max(left, 0))+".")
		}
		r = &store.Refund{AccountID: st.a.ID, InvoiceID: inv.ID, InvoiceNumber: inv.Number, PaymentID: from.ID,
			Amount: billing.NewMoney(req.Amount, inv.Currency), Reason: req.Reason, MethodLabel: from.MethodLabel,
			CreatedBy: actorName(ctx)}
		out.Invoice = inv
		if from.Method == store.MethodACH {
			r.Status = store.RefundSucceeded
			if err := tx.CreateRefund(r); err != nil {
				return err
			}
			note, err := e.completeRefund(ctx, st, inv, from, r)
			out.CreditNote = note
			return err
		}
		if e.pay.gateway == nil {
			return errNoGateway()
		}
		if from.GatewayRef == "" {
			return billing.ReasonErrorf(billing.ESTATE, "not_refundable", "Payment %d has no charge at the gateway to refund.", from.ID)
		}
		next, called := st.now.Add(e.pay.recheckAfter), e.clock.Now()
		r.Status, r.ChargeRef, r.NextCheckAt, r.FirstCalledAt = store.RefundPending, from.GatewayRef, &next, &called
		if err := tx.CreateRefund(r); err != nil {
			return err
		}
		return tx.UpdateRefund(r)
	})
	if err != nil {
		return nil, err
	}
	if r.Status.InFlight() {
		if r, err = e.finishRefund(ctx, r); err != nil {
			return nil, err
		}
	}
	out.Refund = r
	if r.CreditNoteID != nil && out.CreditNote == nil {
		if out.CreditNote, err = e.db.FindInvoice(ctx, *r.CreditNoteID); err != nil {
			return nil, err
		}
	}
	if out.Invoice, err = e.db.FindInvoice(ctx, invoiceID); err != nil {
		return nil, err
	}
	if r.Status == store.RefundFailed {
		return &out, &billing.Error{Code: billing.EPAYMENT, Reason: "refund_failed", Message: r.FailureMessage}
	}
	return &out, nil
}

// finishRefund makes a committed refund's gateway call and records its
// outcome in a second transaction, like a charge's.
func (e *Engine) finishRefund(ctx context.Context, r *store.Refund) (*store.Refund, error) {
	var res billing.RefundResult
	callErr := e.gatewayCall(ctx, func(ctx context.Context) (err error) {
		res, err = e.pay.gateway.Refund(ctx, billing.RefundRequest{ChargeRef: r.ChargeRef, Amount: r.Amount,
			IdempotencyKey: r.IdempotencyKey})
		return err
	})
	if callErr != nil {
		e.log.WarnContext(ctx, "refund", slog.String("key", r.IdempotencyKey), slog.Any("err", callErr))
	}
	var out *store.Refund
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, r.AccountID)
		if err != nil {
			return err
		}
		if out, err = tx.FindRefund(r.ID); err != nil {
			return err
		}
		if !out.Status.InFlight() {
			return nil
		}
		now := st.now
		switch {
		case callErr == nil && res.Status != billing.RefundFailed:
			// Pending at the gateway is as good as done: the money is on its way.
			out.Status, out.GatewayRef, out.ResolvedAt, out.NextCheckAt = store.RefundSucceeded, res.GatewayRef, &now, nil
			if err := tx.UpdateRefund(out); err != nil {
				return err
			}
			inv, err := tx.FindInvoice(out.InvoiceID)
			if err != nil {
				return err
			}
			p, err := tx.FindPayment(out.PaymentID)
			if err != nil {
				return err
			}
			_, err = e.completeRefund(ctx, st, inv, p, out)
			return err
		case callErr != nil && billing.GatewayOutcomeUnknown(callErr):
			next := now.Add(e.pay.recheckAfter)
			out.Status, out.NextCheckAt = store.RefundUnknown, &next
			if err := tx.UpdateRefund(out); err != nil {
				return err
			}
			return tx.Audit("refund.outcome_unknown", "invoice", out.InvoiceNumber, st.a.ID, nil, refundSnapshot(out))
		default:
			out.Status, out.ResolvedAt, out.NextCheckAt = store.RefundFailed, &now, nil
			out.FailureMessage = "The gateway refused the refund."
			if callErr != nil {
				out.FailureMessage = billing.ErrorMessage(callErr)
			}
			if err := tx.UpdateRefund(out); err != nil {
				return err
			}
			return tx.Audit("refund.failed", "invoice", out.InvoiceNumber, st.a.ID, nil, refundSnapshot(out))
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type refundView struct {
	ID         int64              `json:"id"`
	Invoice    string             `json:"invoice"`
	Payment    int64              `json:"payment_id"`
	Amount     billing.Money      `json:"amount"`
	Reason     string             `json:"reason"`
	Status     store.RefundStatus `json:"status"`
	Key        string             `json:"idempotency_key,omitempty"`
	GatewayRef string             `json:"gateway_ref,omitempty"`
	CreditNote string             `json:"credit_note,omitempty"`
}

func refundSnapshot(r *store.Refund) refundView {
	return refundView{ID: r.ID, Invoice: r.InvoiceNumber, Payment: r.PaymentID, Amount: r.Amount, Reason: r.Reason,
		Status: r.Status, Key: r.IdempotencyKey, GatewayRef: r.GatewayRef, CreditNote: r.CreditNote}
}

// completeRefund issues the credit note of a succeeded refund and marks the
// payment refunded by its amount. The note is paid by the refund (payment
// type refund); its negative total does not go to the credit balance.
func (e *Engine) completeRefund(ctx context.Context, st *state, inv *billing.Invoice, p *store.Payment, r *store.Refund) (*billing.Invoice, error) {
	line := billing.InvoiceLine{Description: "Refund of " + inv.Number + ": " + r.Reason, Kind: billing.LineCredit,
		Quantity: 1, UnitAmount: r.Amount, Amount: r.Amount.Neg(), Period: inv.Period}
	note, _, err := draft(st, billing.InvoiceCreditNote, inv.Period, st.today, []billing.InvoiceLine{line},
		func(n *billing.Invoice) {
			n.SubscriptionID, n.CorrectsInvoiceID = inv.SubscriptionID, &inv.ID
			n.DueDate, n.PaymentType = nil, billing.InvoicePaymentRefund
		})
	if err != nil {
		return nil, err
	}
	note.Status = billing.InvoicePaid
	if err := st.tx.CreateInvoice(note); err != nil {
		return nil, err
	}
	if err := finalized(st, note); err != nil {
		return nil, err
	}
	r.CreditNoteID, r.CreditNote = &note.ID, note.Number
	if err := st.tx.UpdateRefund(r); err != nil {
		return nil, err
	}
	p.AmountRefunded = p.AmountRefunded.Add(r.Amount)
	if p.AmountRefunded.Amount >= p.Amount.Amount {
		p.Status = store.PaymentRefunded
	}
	if err := st.tx.UpdatePayment(p); err != nil {
		return nil, err
	}
	if err := st.tx.Audit("invoice.refund", "invoice", inv.Number, st.a.ID, nil, struct {
		refundView
		Payment paymentView `json:"payment"`
	}{refundSnapshot(r), paymentSnapshot(p)}); err != nil {
		return nil, err
	}
	return note, e.notify(ctx, st.tx, Notification{Type: NotifyRefundSucceeded, AccountID: st.a.ID, AccountNumber: st.a.Number, Invoice: inv,
		Payment: p, Refund: r})
}

// Refunds returns a page of the account's refunds, newest first.
func (e *Engine) Refunds(ctx context.Context, accountID int64, limit, offset int) ([]*store.Refund, error) {
	return e.db.FindRefunds(ctx, accountID, limit, offset)
}
