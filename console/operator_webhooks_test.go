package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/webhook"
)

func TestOperator_WebhookEndpointSecretOnceDeliveriesAndReplay(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/webhooks")
		says(t, body, "No endpoints: events are recorded and sent nowhere.", "invoice.paid", "No deliveries.")

		status, body := ops.post("/webhooks/endpoints", url.Values{"url": {"ftp://platform.test/hooks"}, "event_types": {"invoice.paid"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad URL: %d", status)
		}
		says(t, body, "The URL must start with https://")
		if !strings.Contains(body, `value="ftp://platform.test/hooks"`) || !strings.Contains(body, `value="invoice.paid" checked`) {
			t.Fatal("the endpoint form lost what was typed")
		}
		if n := rows(t, db, "webhook_endpoints"); n != 0 {
			t.Fatalf("a bad endpoint was stored: %d", n)
		}

		status, body = ops.post("/webhooks/endpoints", url.Values{"url": {"https://platform.test/hooks"}, "description": {"Kore platform"},
			"event_types": {"invoice.paid", "account.suspended"}})
		if status != http.StatusOK {
			t.Fatalf("create endpoint: %d", status)
		}
		says(t, body, "Endpoint https://platform.test/hooks created.", "It is shown only this once",
			"account.suspended, invoice.paid · Kore platform")
		secret := regexp.MustCompile(`whsec_[0-9a-f]+`).FindString(body)
		if secret == "" {
			t.Fatal("no secret shown")
		}
		if _, again := ops.get("/webhooks"); strings.Contains(again, secret) {
			t.Fatal("the secret is shown a second time")
		}

		ob.publish(t, webhook.InvoicePaid)
		_, body = ops.get("/webhooks?status=pending")
		says(t, body, "Deliveries (1)", "invoice.paid", ob.acme.Number, "https://platform.test/hooks", "Pending")
		ds, _, err := ob.webhooks.Deliveries(context.Background(), webhook.DeliveryFilter{})
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries = %v %v", ds, err)
		}
		d := ds[0]
		id := strconv.FormatInt(d.ID, 10)
		_, body = ops.get("/webhooks/deliveries/" + id)
		says(t, body, "Delivery "+id+" Pending", d.EventID, `"invoice": "INV-2027-000001"`, "Not attempted yet.")
		if strings.Contains(body, "Send it again now") {
			t.Fatal("a pending delivery offers a replay")
		}
		// The endpoint answered 500 and the delivery failed.
		err = db.RecordWebhookAttempt(context.Background(), &webhook.Attempt{DeliveryID: d.ID, At: engineStart, URL: "https://platform.test/hooks",
			StatusCode: 500, Error: "HTTP 500", Duration: 120 * time.Millisecond, Response: "upstream down"}, webhook.DeliveryFailed, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, body = ops.get("/webhooks/deliveries/" + id)
		says(t, body, "Delivery "+id+" Failed", "HTTP 500", "upstream down", "Send it again now")
		jobs := ob.jobs.n
		status, body = ops.post("/webhooks/deliveries/"+id+"/replay", nil)
		if status != http.StatusOK {
			t.Fatalf("replay: %d", status)
		}
		says(t, body, "is queued to be sent again now.", "Delivery "+id+" Pending")
		if ob.jobs.n != jobs+1 {
			t.Fatal("the replay enqueued no job")
		}
		status, body = ops.post("/webhooks/deliveries/"+id+"/replay", nil) // pending now: refused
		if status != http.StatusUnprocessableEntity || ob.jobs.n != jobs+1 {
			t.Fatalf("replay of a pending delivery: %d, jobs %d", status, ob.jobs.n-jobs)
		}
		if status, _ := ops.get("/webhooks/deliveries/999"); status != http.StatusNotFound {
			t.Fatalf("unknown delivery: %d", status)
		}
	})
}

func TestOperator_EmailOutboxListAndText(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/emails")
		says(t, body, "0 emails", "No emails.")
		ob.email(t, "Your receipt for INV-2027-000001", "Thank you.\n\nAmount paid: $20.00\nCard: Visa •••• 4242")
		_, body = ops.get("/emails?status=recorded")
		says(t, body, "1 email", "billing@acme.test", "Your receipt for INV-2027-000001", ob.acme.Number, "Recorded")
		id := regexp.MustCompile(`href="/emails/(\d+)"`).FindStringSubmatch(body)
		if id == nil {
			t.Fatal("no link to the email")
		}
		_, body = ops.get("/emails/" + id[1])
		says(t, body, "Your receipt for INV-2027-000001", "To billing@acme.test", "Payment receipt", "Amount paid: $20.00")
		if !strings.Contains(body, "Thank you.\n\nAmount paid") {
			t.Fatal("the text lost its lines")
		}
		_, body = ops.get("/emails?status=failed")
		says(t, body, "0 emails", "No emails failed.")
	})
}

func TestOperator_TestClockCreatedAccountAddedAdvancedWithItsInvoices(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ob := setupOperator(t, db, true)
		ops := signedIn(t, ob.bundle, operatorEmail)
		_, body := ops.get("/test-clocks")
		says(t, body, "No test clocks yet.", "Create a test clock")

		status, body := ops.post("/test-clocks", url.Values{"name": {"Renewals"}, "date": {""}, "time": {"25:00"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("bad clock: %d", status)
		}
		says(t, body, "Enter the day the clock starts on.", "Enter a time of day as HH:MM")
		if !strings.Contains(body, `value="Renewals"`) || rows(t, db, "test_clocks") != 0 {
			t.Fatal("bad clock: name lost or clock made")
		}
		status, body = ops.post("/test-clocks", url.Values{"name": {"Renewals"}, "date": {"2027-01-31"}, "time": {"09:00"}})
		if status != http.StatusOK {
			t.Fatalf("create clock: %d", status)
		}
		says(t, body, "Test clock “Renewals” created at Jan 31, 2027 09:00 UTC.", "It is Jan 31, 2027 09:00 UTC on this clock.")
		clockPath := ops.last.Request.URL.Path

		accounts := rows(t, db, "accounts")
		status, body = ops.post(clockPath+"/accounts", url.Values{"name": {"Umbrella"}, "domain": {"acme.test"}, "billing_type": {"subscription"},
			"account_type": {"enterprise"}, "currency": {"USD"}, "time_zone": {"UTC"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("taken domain: %d", status)
		}
		says(t, body, "An account for this domain already exists.")
		if rows(t, db, "accounts") != accounts {
			t.Fatal("a bad account was made")
		}
		status, body = ops.post(clockPath+"/accounts", url.Values{"name": {"Umbrella"}, "domain": {"umbrella.test"}, "billing_type": {"subscription"},
			"account_type": {"enterprise"}, "currency": {"USD"}, "time_zone": {"UTC"}})
		if status != http.StatusOK {
			t.Fatalf("add account: %d\n%s", status, text(body))
		}
		says(t, body, "created on test clock “Renewals”", "Umbrella")
		m := regexp.MustCompile(`Account (KB-\d{6}) \(Umbrella\)`).FindStringSubmatch(text(body))
		if m == nil {
			t.Fatal("the new account's number is not said")
		}
		umbrella, err := db.FindAccountByNumber(context.Background(), m[1])
		if err != nil {
			t.Fatal(err)
		}
		// Dates shown come from the account's own clock: it became a
		// customer on the clock's day, not on the real one.
		if want := time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC); !umbrella.CreatedAt.Equal(want) {
			t.Errorf("created at %v; want the clock's %v", umbrella.CreatedAt, want)
		}
		_, body = ops.get("/accounts/" + m[1] + "/summary")
		says(t, body, "Customer since Jan 31, 2027")
		// A monthly contract on the clock: Jan 31 → Feb 28 is its first period.
		_, err = ob.eng.CreateContract(opsCtx(), umbrella.ID, engine.ContractRequest{Number: "C-UMB", PlanCode: "enterprise",
			TermStart: billing.NewDate(2027, 1, 31), TermEnd: billing.NewDate(2028, 1, 31), Prepaid: 5,
			UnitPrice: billing.NewMoney(2000, "USD"), Interval: billing.Month, NetDays: 15, PayByInvoice: true})
		if err != nil {
			t.Fatal(err)
		}
		before := len(ob.invoices(t, umbrella))

		for _, bad := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"days": {"a month"}}, "Enter a whole number of days"},
			{url.Values{"days": {"3"}, "to": {"2027-03-01"}}, "Enter a number of days or a date, not both."},
			{url.Values{"to": {"2027-01-15"}}, "A test clock only moves forward: enter a day after Jan 31, 2027."},
			{url.Values{}, "Enter a number of days, or a date below."},
		} {
			status, body := ops.post(clockPath+"/advance", bad.form)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%v: %d", bad.form, status)
			}
			says(t, body, bad.want, "It is Jan 31, 2027 09:00 UTC on this clock.")
		}

		status, body = ops.post(clockPath+"/advance", url.Values{"days": {"30"}})
		if status != http.StatusOK {
			t.Fatalf("advance: %d\n%s", status, text(body))
		}
		says(t, body, "Advancing “Renewals” from Jan 31, 2027 09:00 to Mar 2, 2027 09:00 UTC", "for 1 account on the way")
		body = followAdvance(t, ops, body)
		says(t, body, "It is Mar 2, 2027 09:00 UTC on this clock.", "Invoices issued on the way", "Feb 28, 2027", "$100.00")
		if got := len(ob.invoices(t, umbrella)); got != before+1 {
			t.Fatalf("invoices %d → %d", before, got)
		}
		status, body = ops.post(clockPath+"/advance", url.Values{"to": {"2027-03-05"}})
		if status != http.StatusOK {
			t.Fatalf("advance to a day: %d", status)
		}
		says(t, body, "to Mar 5, 2027 09:00 UTC")
		says(t, followAdvance(t, ops, body), "None: nothing fell due.")
		_, body = ops.get("/test-clocks")
		says(t, body, "Renewals", "Mar 5, 2027 09:00 UTC", umbrella.Number, "Umbrella")
	})
}

// followAdvance reads the clock page as its htmx poll does, until the job
// advancing the clock has finished, and returns the page then.
func followAdvance(t *testing.T, p *person, body string) string {
	t.Helper()
	re := regexp.MustCompile(`hx-get="(/test-clocks/[0-9]+[^"]*)" hx-trigger="every 1s"`)
	for i := 0; i < 1500; i++ {
		m := re.FindStringSubmatch(body)
		if m == nil {
			return body
		}
		time.Sleep(20 * time.Millisecond)
		_, body = p.get(html.UnescapeString(m[1]))
	}
	t.Fatal("the clock is still advancing after 30s")
	return ""
}
