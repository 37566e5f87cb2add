package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func acmeProfile(accountID int64) *billing.BillingProfile {
	return &billing.BillingProfile{
		AccountID:   accountID,
		CompanyName: " Acme Widgets Ltd ",
		ContactName: "Zoë Ågren",
		Address: billing.Address{Line1: "1 Main St", Line2: "Suite 5", City: "Springfield",
			Region: "IL", PostalCode: "62701", Country: "us"},
		Phone:         "(415) 555-0100",
		Email:         "Billing@Acme.test",
		InvoiceEmails: []string{"AP@acme.test", "cfo@acme.test", "ap@acme.test"},
		TaxID:         "US-12-3456789",
	}
}

func TestFindProfile_NotSet(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		_, err := db.FindProfile(context.Background(), a.ID)
		if e := assertCode(t, err, billing.ENOTFOUND); e.Reason != "profile_not_set" {
			t.Fatalf("reason = %q, want profile_not_set", e.Reason)
		}
		_, err = db.FindProfile(context.Background(), a.ID+1)
		if e := assertCode(t, err, billing.ENOTFOUND); e.Reason != "" {
			t.Fatalf("unknown account: reason = %q", e.Reason)
		}
	})
}

func TestSetProfile_RoundTripAndAudit(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		clock.Advance(time.Minute)
		p := acmeProfile(a.ID)
		if err := db.SetProfile(as("user:ada@acme.test"), p); err != nil {
			t.Fatal(err)
		}
		want := billing.BillingProfile{
			AccountID: a.ID, CompanyName: "Acme Widgets Ltd", ContactName: "Zoë Ågren",
			Address: billing.Address{Line1: "1 Main St", Line2: "Suite 5", City: "Springfield",
				Region: "IL", PostalCode: "62701", Country: "US"},
			Phone: "+14155550100", Email: "billing@acme.test",
			InvoiceEmails: []string{"ap@acme.test", "cfo@acme.test"}, TaxID: "US-12-3456789",
			UpdatedAt: stored(clock.Now()),
		}
		if !reflect.DeepEqual(*p, want) {
			t.Fatalf("set\n %+v\nwant\n %+v", *p, want)
		}
		got, err := db.FindProfile(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("read back\n %+v\nwant\n %+v", *got, want)
		}
		ev := lastEvent(t, db, 2)
		if ev.Action != "profile.set" || ev.Actor != "user:ada@acme.test" || ev.TargetType != "billing_profile" ||
			ev.TargetID != a.Number || *ev.AccountID != a.ID {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, "")
		assertJSON(t, "after", ev.After, `{"company_name":"Acme Widgets Ltd","contact_name":"Zoë Ågren",
			"address":{"line1":"1 Main St","line2":"Suite 5","city":"Springfield","region":"IL",
			"postal_code":"62701","country":"US"},"phone":"+14155550100","email":"billing@acme.test",
			"invoice_emails":["ap@acme.test","cfo@acme.test"],"tax_id":"US-12-3456789"}`)

		// Replacing it records both states; no extra emails read back as an
		// empty list.
		clock.Advance(time.Minute)
		p2 := acmeProfile(a.ID)
		p2.Email, p2.InvoiceEmails, p2.TaxID, p2.Address.Line2 = "ap@acme.test", nil, "", ""
		if err := db.SetProfile(as("user:ada@acme.test"), p2); err != nil {
			t.Fatal(err)
		}
		got, err = db.FindProfile(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "ap@acme.test" || got.InvoiceEmails == nil || len(got.InvoiceEmails) != 0 ||
			got.TaxID != "" || got.Address.Line2 != "" || got.UpdatedAt != stored(clock.Now()) {
			t.Fatalf("replaced profile read back as %+v", got)
		}
		ev = lastEvent(t, db, 3)
		assertJSON(t, "before", ev.Before, `{"company_name":"Acme Widgets Ltd","contact_name":"Zoë Ågren",
			"address":{"line1":"1 Main St","line2":"Suite 5","city":"Springfield","region":"IL",
			"postal_code":"62701","country":"US"},"phone":"+14155550100","email":"billing@acme.test",
			"invoice_emails":["ap@acme.test","cfo@acme.test"],"tax_id":"US-12-3456789"}`)
		assertJSON(t, "after", ev.After, `{"company_name":"Acme Widgets Ltd","contact_name":"Zoë Ågren",
			"address":{"line1":"1 Main St","city":"Springfield","region":"IL",
			"postal_code":"62701","country":"US"},"phone":"+14155550100","email":"ap@acme.test",
			"invoice_emails":[]}`)

		// The same profile again writes nothing.
		clock.Advance(time.Minute)
		p3 := acmeProfile(a.ID)
		p3.Email, p3.InvoiceEmails, p3.TaxID, p3.Address.Line2 = "ap@acme.test", nil, "", ""
		if err := db.SetProfile(as("x"), p3); err != nil {
			t.Fatal(err)
		}
		lastEvent(t, db, 3)
		if p3.UpdatedAt != got.UpdatedAt {
			t.Fatalf("no-op set: UpdatedAt = %v, want the stored %v", p3.UpdatedAt, got.UpdatedAt)
		}
	})
}

func TestSetProfile_InvalidOrUnknownAccountWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		bad := acmeProfile(a.ID)
		bad.Phone, bad.Address.Country = "12", "XX"
		err := assertNothingWritten(t, db, billing.EINVALID, func() error { return db.SetProfile(as("x"), bad) })
		if e := assertCode(t, err, billing.EINVALID); len(e.Fields) != 2 {
			t.Fatalf("fields = %+v", e.Fields)
		}
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error { return db.SetProfile(as("x"), acmeProfile(a.ID+7)) })
	})
}
