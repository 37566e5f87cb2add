package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// IdempotencyStore keeps the first response to each Idempotency-Key.
type IdempotencyStore interface {
	ReserveIdempotencyKey(ctx context.Context, scope, key, requestHash string, ttl time.Duration) (*billing.IdempotentResponse, bool, error)
	FindIdempotencyKey(ctx context.Context, scope, key string) (*billing.IdempotentResponse, error)
	CompleteIdempotencyKey(ctx context.Context, scope, key string, resp billing.IdempotentResponse) error
	ReleaseIdempotencyKey(ctx context.Context, scope, key string) error
}

const (
	idempotencyTTL     = 24 * time.Hour
	idempotencyWait    = 10 * time.Second
	maxIdempotencyKey  = 255
	maxIdempotentBody  = 1 << 20
	idempotencyReplayH = "Idempotent-Replayed"
)

// idempotent makes every state-changing /v1 request sent with an
// Idempotency-Key run at most once per caller and key: a retry with the same
// key and body gets the first response again (status and body, for 24
// hours); the same key with another body is refused; a retry that arrives
// while the first still runs waits for it. A first request that fails with a
// server error is forgotten, so that its retry runs again (the change rolled
// back with the error).
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, sent := r.Header["Idempotency-Key"]
		if !sent || r.Method == http.MethodGet || r.Method == http.MethodHead || !strings.HasPrefix(r.URL.Path, "/v1/") || s.Idempotency == nil {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) != 1 || !validIdempotencyKey(key[0]) {
			writeProblem(w, http.StatusBadRequest, "invalid_idempotency_key",
				"Idempotency-Key must be one header of 1 to 255 printable ASCII characters, such as a UUID.")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxIdempotentBody+1))
		if err != nil || len(body) > maxIdempotentBody {
			writeProblem(w, http.StatusRequestEntityTooLarge, "request_too_large", "The request body is too large.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		// The scope is the caller: a hash of the whole credential, so that
		// no one can reach another caller's keys.
		scopeSum := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		scope := hex.EncodeToString(scopeSum[:])
		h := sha256.New()
		io.WriteString(h, r.Method+" "+r.URL.RequestURI()+"\n")
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		ctx := r.Context()
		rec, reserved, err := s.Idempotency.ReserveIdempotencyKey(ctx, scope, key[0], hash, idempotencyTTL)
		if err != nil {
			s.logger(ctx).ErrorContext(ctx, "reserve idempotency key", slog.Any("err", err))
			writeProblem(w, http.StatusInternalServerError, billing.EINTERNAL, "Internal error.")
			return
		}
		if !reserved {
			s.replay(w, r, scope, key[0], hash, rec)
			return
		}
		rw := &recordingWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if rw.status >= 500 {
			if err := s.Idempotency.ReleaseIdempotencyKey(context.WithoutCancel(ctx), scope, key[0]); err != nil {
				s.logger(ctx).ErrorContext(ctx, "release idempotency key", slog.Any("err", err))
			}
			return
		}
		resp := billing.IdempotentResponse{Status: rw.status, ContentType: w.Header().Get("Content-Type"), Body: rw.body.Bytes()}
		if err := s.Idempotency.CompleteIdempotencyKey(context.WithoutCancel(ctx), scope, key[0], resp); err != nil {
			s.logger(ctx).ErrorContext(ctx, "complete idempotency key", slog.Any("err", err))
		}
	})
}

// replay answers a request whose key was used before.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, scope, key, hash string, rec *billing.IdempotentResponse) {
	ctx := r.Context()
	deadline := time.Now().Add(idempotencyWait)
	for rec != nil && !rec.Done && rec.RequestHash == hash && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		next, err := s.Idempotency.FindIdempotencyKey(ctx, scope, key)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			// The first request failed and was forgotten: this one may run.
			writeProblem(w, http.StatusConflict, "idempotency_key_retry",
				"The first request with this Idempotency-Key failed; send this request again.")
			return
		} else if err != nil {
			s.logger(ctx).ErrorContext(ctx, "find idempotency key", slog.Any("err", err))
			writeProblem(w, http.StatusInternalServerError, billing.EINTERNAL, "Internal error.")
			return
		}
		rec = next
	}
	switch {
	case rec == nil:
		writeProblem(w, http.StatusInternalServerError, billing.EINTERNAL, "Internal error.")
	case rec.RequestHash != hash:
		writeProblem(w, http.StatusUnprocessableEntity, "idempotency_key_reused",
			"This Idempotency-Key was used with another request; use a new key for a new request.")
	case !rec.Done:
		writeProblem(w, http.StatusConflict, "idempotency_key_in_progress",
			"A request with this Idempotency-Key is still running; retry later.")
	default:
		if rec.ContentType != "" {
			w.Header().Set("Content-Type", rec.ContentType)
		}
		w.Header().Set(idempotencyReplayH, "true")
		w.WriteHeader(rec.Status)
		_, _ = w.Write(rec.Body)
	}
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(&Problem{Status: status, Title: http.StatusText(status), Detail: detail, Code: code}))
}

// recordingWriter passes a response through and keeps a copy.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
