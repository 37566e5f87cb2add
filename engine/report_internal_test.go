package engine

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestDunningStage(t *testing.T) {
	for _, c := range []struct {
		invoice billing.InvoiceStatus
		paidBy  store.PaymentTrigger
		account billing.AccountStatus
		want    string
	}{
		{billing.InvoicePaid, store.TriggerRetry, billing.StatusActive, DunningRecoveredRetry},
		{billing.InvoicePaid, store.TriggerNewMethod, billing.StatusActive, DunningRecoveredCard},
		{billing.InvoicePaid, store.TriggerManual, billing.StatusActive, DunningRecoveredOther},
		{billing.InvoicePaid, store.TriggerBankTransfer, billing.StatusActive, DunningRecoveredOther},
		{billing.InvoiceVoid, "", billing.StatusActive, DunningWrittenOff},
		{billing.InvoiceUncollectible, "", billing.StatusSuspended, DunningWrittenOff},
		{billing.InvoiceOpen, "", billing.StatusSuspended, DunningSuspended},
		{billing.InvoiceOpen, "", billing.StatusPastDue, DunningStillOpen},
		{billing.InvoiceOpen, "", billing.StatusActive, DunningStillOpen},
	} {
		got := dunningStage(store.FailedInvoice{Status: c.invoice, PaidBy: c.paidBy, AccountStatus: c.account})
		if got != c.want {
			t.Errorf("%s paid by %q, account %s: %s, want %s", c.invoice, c.paidBy, c.account, got, c.want)
		}
	}
}
