package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// maxCheckedBody is the largest JSON body whose strings are checked; a
// larger one is refused by the operation's own size limit.
const maxCheckedBody = 32 << 20

// checkText refuses, with 422 naming each field, any /v1 request whose path
// parameters, query parameters or JSON body strings are not acceptable text
// (billing.ValidText): every text input of the API is checked here, once,
// before any handler, store or idempotency record sees it.
func (s *Server) checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		var bad []*huma.ErrorDetail
		add := func(location, value string, multiline bool) {
			if c, ok := billing.ValidText(value, multiline); !ok {
				bad = append(bad, &huma.ErrorDetail{Location: location, Message: billing.TextProblem(c)})
			}
		}
		_, pattern := s.mux.Handler(r)
		names := strings.Split(pattern[strings.IndexByte(pattern, ' ')+1:], "/")
		for i, seg := range strings.Split(r.URL.Path, "/") {
			name := "path"
			if i < len(names) && strings.HasPrefix(names[i], "{") {
				name += "." + strings.Trim(names[i], "{}.")
			}
			add(name, seg, false)
		}
		query := r.URL.Query()
		keys := make([]string, 0, len(query))
		for k := range query {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add("query", k, false)
			for _, v := range query[k] {
				add("query."+k, v, false)
			}
		}
		if r.Body != nil && r.ContentLength != 0 && isJSON(r.Header.Get("Content-Type")) {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxCheckedBody+1))
			if err != nil {
				writeProblem(w, http.StatusBadRequest, "malformed_request", "The request body could not be read.")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var v any
			if len(body) <= maxCheckedBody && json.Unmarshal(body, &v) == nil {
				walkStrings("body", "", v, add)
			}
		}
		if len(bad) > 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write(mustJSON(&Problem{Status: http.StatusUnprocessableEntity, Title: http.StatusText(http.StatusUnprocessableEntity),
				Detail: bad[0].Location + ": " + bad[0].Message, Code: billing.EINVALID, Errors: bad}))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// walkStrings calls add for every string (and object key) in the decoded
// JSON value v at location, named as huma names fields (body.users[0].email).
func walkStrings(location, name string, v any, add func(location, value string, multiline bool)) {
	switch v := v.(type) {
	case string:
		add(location, v, billing.MultilineField(name))
	case []any:
		for i, e := range v {
			walkStrings(location+"["+strconv.Itoa(i)+"]", name, e, add)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(location, k, false)
			walkStrings(location+"."+k, k, v[k], add)
		}
	}
}

func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
