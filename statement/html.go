package statement

import (
	"fmt"
	"html/template"
	"io"
)

// HTML writes the statement as an HTML fragment: one <article
// class="statement"> for the console to put in its layout, in place of the
// page's own heading (the fragment's <h1> is the statement's title). Style
// it with CSS.
func HTML(w io.Writer, d Data) error {
	if err := htmlTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("statement html: %w", err)
	}
	return nil
}

var htmlTemplate = template.Must(template.New("statement").Parse(`<article class="statement" aria-labelledby="statement-title">
<header class="statement-head">
  <p class="statement-brand">Kore Billing</p>
  <h1 id="statement-title">{{.Title}} <span class="statement-number">{{.Number}}</span></h1>
  <p class="statement-status statement-status-{{.State}}">{{.Status}}</p>
</header>
<div class="statement-parties">
  <section class="statement-billed-to" aria-labelledby="statement-billed-to">
    <h2 id="statement-billed-to">Billed To</h2>
    <address>
      {{- with .BilledTo}}
      {{- if .Company}}<span class="statement-company" dir="auto">{{.Company}}</span><br>{{end}}
      {{- if .Contact}}<span dir="auto">{{.Contact}}</span><br>{{end}}
      {{- range .Address}}<span dir="auto">{{.}}</span><br>{{end}}
      {{- if .Email}}<a href="mailto:{{.Email}}">{{.Email}}</a><br>{{end}}
      {{- if .Phone}}{{.Phone}}<br>{{end}}
      {{- if .TaxID}}Tax ID: {{.TaxID}}{{end}}
      {{- end}}
    </address>
  </section>
  <section class="statement-facts" aria-labelledby="statement-details">
    <h2 id="statement-details">Details</h2>
    <dl>
      <div><dt>{{if eq .Title "Credit note"}}Credit note number{{else}}Invoice number{{end}}</dt><dd>{{.Number}}</dd></div>
      <div><dt>Issue date</dt><dd>{{.IssueDate}}</dd></div>
      {{- if .DueDate}}
      <div><dt>Due date</dt><dd>{{.DueDate}}</dd></div>
      {{- end}}
      {{- if .PaymentType}}
      <div><dt>Payment type</dt><dd>{{.PaymentType}}</dd></div>
      {{- end}}
      {{- if .PaymentMethod}}
      <div><dt>Payment method</dt><dd>{{.PaymentMethod}}</dd></div>
      {{- end}}
      <div><dt>Account ID</dt><dd>{{.AccountID}}</dd></div>
      <div><dt>Account type</dt><dd>{{.AccountType}}</dd></div>
      {{- if .ServicePeriod}}
      <div><dt>Service period</dt><dd>{{.ServicePeriod}}</dd></div>
      {{- end}}
    </dl>
  </section>
</div>
<div class="statement-table-wrap">
<table class="statement-lines">
  <caption>Transactions</caption>
  <thead>
    <tr><th scope="col">Description</th><th scope="col" class="num">Users</th><th scope="col">Days</th><th scope="col" class="num">Unit price</th><th scope="col" class="num">Amount</th></tr>
  </thead>
  <tbody>
    {{- range .Lines}}
    <tr{{if .Credit}} class="statement-credit"{{end}}><th scope="row"><span dir="auto">{{.Description}}</span></th><td class="num" data-label="Users">{{.Users}}</td><td data-label="Days">{{.Days}}</td><td class="num" data-label="Unit price">{{.UnitPrice}}</td><td class="num" data-label="Amount">{{.Amount}}</td></tr>
    {{- else}}
    <tr><td colspan="5">No transactions.</td></tr>
    {{- end}}
  </tbody>
</table>
</div>
<table class="statement-breakdown">
  <caption>Breakdown</caption>
  <tbody>
    <tr><th scope="row">Subtotal</th><td class="num">{{.Subtotal}}</td></tr>
    <tr><th scope="row">Discount credits</th><td class="num">{{.Credits}}</td></tr>
    <tr><th scope="row">{{.TaxLabel}}</th><td class="num">{{.Tax}}</td></tr>
    <tr class="statement-total"><th scope="row">Total</th><td class="num">{{.Total}}</td></tr>
    <tr><th scope="row">Amount paid</th><td class="num">{{.AmountPaid}}</td></tr>
    <tr class="statement-due"><th scope="row">Amount due</th><td class="num">{{.AmountDue}}</td></tr>
    {{- if .CreditBalance}}
    <tr class="statement-balance"><th scope="row">Discount credits balance</th><td class="num">{{.CreditBalance}}</td></tr>
    {{- end}}
  </tbody>
</table>
</article>
`))

// CSS styles the HTML fragment. It uses the console's colour variables when
// they are there and plain values otherwise, and prints black on white
// without the console's navigation, backgrounds, or rows split over pages.
const CSS = `.statement { background: var(--paper, #fff); color: var(--ink, #1b2430); border: 1px solid var(--line, #d5dbe3); border-radius: var(--radius, 6px); padding: 1.5rem; max-width: 56rem; font-variant-numeric: tabular-nums; }
.statement-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; border-bottom: 2px solid var(--ink, #1b2430); padding-bottom: .75rem; margin-bottom: 1.25rem; }
.statement-brand { font-weight: 700; color: var(--brand, #16325c); margin: 0; flex-basis: 100%; }
.statement h1 { margin: 0; font-size: 1.6rem; }
.statement-number { font-weight: 600; color: var(--muted, #4f5b69); }
.statement-status { margin: 0; border-radius: 999px; padding: .05rem .7rem; font-size: .85rem; font-weight: 600; border: 1px solid currentColor; }
.statement-status-paid { color: var(--ok, #146c43); background: var(--ok-wash, #e7f5ee); }
.statement-status-open { color: var(--warn, #8a5300); background: var(--warn-wash, #fff4e0); }
.statement-status-uncollectible { color: var(--danger, #b42318); background: var(--danger-wash, #fdecea); }
.statement-status-void, .statement-status-draft { color: var(--muted, #4f5b69); background: #eceff3; }
.statement-parties { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 16rem), 1fr)); gap: 1rem 2rem; margin-bottom: 1.5rem; }
.statement h2 { font-size: 1rem; margin: 0 0 .4rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted, #4f5b69); }
.statement address { font-style: normal; overflow-wrap: anywhere; }
.statement-company { font-weight: 600; }
.statement dl { margin: 0; }
.statement dl > div { display: grid; grid-template-columns: 9.5rem 1fr; gap: .5rem; padding: .1rem 0; }
.statement dt { color: var(--muted, #4f5b69); }
.statement dd { margin: 0; }
.statement-table-wrap { overflow-x: auto; margin-bottom: 1rem; }
.statement table { width: 100%; border-collapse: collapse; }
.statement caption { text-align: left; font-weight: 700; padding-bottom: .4rem; }
.statement th, .statement td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line, #d5dbe3); vertical-align: top; }
.statement thead th { font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted, #4f5b69); border-bottom: 2px solid var(--line, #d5dbe3); }
.statement tbody th { font-weight: 400; }
.statement .num { text-align: right; white-space: nowrap; }
.statement-credit td.num:last-child { color: var(--ok, #146c43); }
.statement-breakdown { max-width: 24rem; margin-left: auto; }
.statement-breakdown caption { text-align: right; }
.statement .statement-total th, .statement .statement-total td, .statement .statement-due th, .statement .statement-due td { font-weight: 700; border-top: 2px solid var(--ink, #1b2430); }
@media (max-width: 40rem) {
  .statement { padding: 1rem; }
  .statement-lines thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .statement-lines tr { display: block; border-bottom: 1px solid var(--line, #d5dbe3); padding: .4rem 0; }
  .statement-lines th, .statement-lines td { display: grid; grid-template-columns: 6.5rem 1fr; gap: .5rem; border: 0; padding: .15rem .25rem; text-align: left; }
  .statement-lines tbody th { display: block; font-weight: 600; }
  .statement-lines td::before { content: attr(data-label); font-weight: 600; color: var(--muted, #4f5b69); }
}
@media print {
  nav, .mainnav, .accountnav, .skip-link, .site-footer, .actions, .button, button { display: none !important; }
  .statement, .statement * { color: #000 !important; background: #fff !important; box-shadow: none !important; }
  .statement { border: 0; padding: 0; max-width: none; font-size: 10.5pt; }
  .statement a { text-decoration: none; }
  .statement-status { border: 1px solid #000; }
  .statement th, .statement td { border-bottom: 1px solid #999; }
  .statement tr, .statement-parties, .statement-breakdown { break-inside: avoid; page-break-inside: avoid; }
  .statement thead { display: table-header-group; }
  .statement-table-wrap { overflow: visible; }
}
`
