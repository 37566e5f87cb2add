package billing

import "context"

// IdempotentResponse is the first response to a request sent with an
// Idempotency-Key, kept so that a retry with the same key and body gets the
// same answer instead of a second change. DESIGN.md: "API requests that
// change state accept an Idempotency-Key header: the same key and body
// returns the first response; the same key with another body is an error."
type IdempotentResponse struct {
	RequestHash string // SHA-256 of method, path and body
	Done        bool   // false while the first request still runs
	Status      int
	ContentType string
	Body        []byte
	// While not Done: the request holding the key, whether its lease has
	// expired (it died), and whether it committed a change.
	LeaseOwner   string
	LeaseExpired bool
	Changed      bool
}

// The first request with a key holds it by a lease while it runs: it renews
// the lease (a heartbeat) until it stores its response. A lease that has
// expired means its request died with its process; a retry then takes the
// key over, unless the dead request had already committed a change under
// it (Changed), which a second run could repeat.

// IdempotencyLease names the key a request holds and the request (Owner, a
// random token per request). In a request's context it fences the request's
// write transactions: each commits only while the request still holds the
// key, and marks the key Changed.
type IdempotencyLease struct {
	Scope, Key, Owner string
}

type idempotencyLeaseKey struct{}

// NewContextWithIdempotencyLease returns ctx carrying the lease of the
// request it belongs to.
func NewContextWithIdempotencyLease(ctx context.Context, l IdempotencyLease) context.Context {
	return context.WithValue(ctx, idempotencyLeaseKey{}, l)
}

// IdempotencyLeaseFromContext returns the lease in ctx, if any.
func IdempotencyLeaseFromContext(ctx context.Context) (IdempotencyLease, bool) {
	l, ok := ctx.Value(idempotencyLeaseKey{}).(IdempotencyLease)
	return l, ok
}
