// Package mail writes and sends the emails Kore Billing sends to an
// account's billing contact (and, for invoices and receipts, to the
// profile's extra invoice emails): invoice issued, payment receipt, payment
// failed with the next retry date, card expiring.
//
// Every email is first a row in an outbox, written by QueueTx in the
// transaction of the change it tells of. When an SMTP server is configured
// (--smtp-url), a River job per email sends it through
// github.com/wneessen/go-mail and retries with backoff; without one, the
// email is kept with status "recorded" for operators to read.
//
// mail imports billing and River. It must not import store, engine, api or
// jobs: the store implements Store, and jobs runs the worker that
// Service.Register adds.
package mail
