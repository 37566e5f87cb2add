package billing

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
}
