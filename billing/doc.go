// Package billing holds Kore Billing's domain: the types an account is billed
// with (money, accounts, billing profiles, the plan catalog, managed users,
// audit events, API keys), the coded error type, the clock, and the pure rules
// (periods, proration, invoice math).
//
// It must not import database drivers, net/http or any other package of this
// module: storage lives in store, HTTP in api, state changes in engine.
package billing
