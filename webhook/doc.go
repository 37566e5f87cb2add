// Package webhook tells the Kore platform what happened in billing, by
// signed HTTP POSTs ("receives signed webhooks", DESIGN.md):
//
//   - Endpoint: a URL an operator configures, with the event types it wants
//     and a secret that signs every request to it;
//   - Event: what happened (invoice.paid, account.suspended, …), written by
//     PublishTx in the transaction of the change that causes it, together
//     with one Delivery and one River job per endpoint that wants it (an
//     outbox: the change and its events commit together or not at all);
//   - the delivery worker, which POSTs the event, records every Attempt and
//     lets River retry a failed one with exponential backoff;
//   - Sign and Verify, the signature scheme receivers check.
//
// webhook imports billing and River. It must not import store, engine, api
// or jobs: the store implements Store, and jobs runs the worker that
// Service.Register adds.
package webhook
