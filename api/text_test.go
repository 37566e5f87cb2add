package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// Every text input of every API route — each path parameter, each string
// query parameter and each string field of each JSON body, as the OpenAPI
// document lists them — is refused with 422 naming it when it holds a NUL,
// and nothing is written (issue 9, defect 6: NUL bytes gave 500 on
// PostgreSQL in 16 places).
func TestTextInputs_NULRefusedWith422NamingTheFieldOnEveryRoute(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, _ := setupBilling(t, db, "2026-01-19T10:00:00Z")
		number := b.createAccount(t, "Acme", "acme.example.com")
		resp, raw := get(t, b.srv.URL+"/openapi.json", b.opKey)
		if resp.StatusCode != 200 {
			t.Fatalf("openapi.json = %d", resp.StatusCode)
		}
		var doc struct {
			Paths      map[string]map[string]operation `json:"paths"`
			Components struct {
				Schemas map[string]*schema `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		_, before := counts(t, db)
		paths := make([]string, 0, len(doc.Paths))
		for p := range doc.Paths {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		checked := 0
		for _, p := range paths {
			for method, op := range doc.Paths[p] {
				method = strings.ToUpper(method)
				if !strings.HasPrefix(p, "/v1/") {
					continue
				}
				fill := func(bad string) string {
					out := p
					for _, prm := range op.Parameters {
						if prm.In != "path" {
							continue
						}
						v := "1"
						if prm.Name == "number" {
							v = number
						}
						if prm.Name == bad {
							v += "\x00"
						}
						out = strings.ReplaceAll(out, "{"+prm.Name+"}", url.PathEscape(v))
					}
					return out
				}
				send := func(what, location, path string, body any) {
					t.Helper()
					checked++
					status, out := b.call(t, method, path, b.opKey, body)
					if status != http.StatusUnprocessableEntity || !mentions(out, location) {
						t.Errorf("%s %s with a NUL in %s = %d %v, want 422 naming %s", method, p, what, status, out, location)
					}
				}
				for _, prm := range op.Parameters {
					switch {
					case prm.In == "path":
						send(prm.Name, "path."+prm.Name, fill(prm.Name), nil)
					case prm.In == "query" && prm.Schema.Type == "string":
						send(prm.Name, "query."+prm.Name, fill("")+"?"+url.Values{prm.Name: {"a\x00b"}}.Encode(), nil)
					}
				}
				if op.RequestBody == nil {
					continue
				}
				body := doc.Components.Schemas[strings.TrimPrefix(op.RequestBody.Content["application/json"].Schema.Ref, "#/components/schemas/")]
				for _, f := range stringFields(body, doc.Components.Schemas, "") {
					send("body"+f.path, "body"+f.path, fill(""), f.body("a\x00b"))
				}
			}
		}
		if checked < 100 {
			t.Fatalf("only %d inputs checked", checked)
		}
		if _, after := counts(t, db); after != before {
			t.Fatalf("refused requests wrote %d audit events", after-before)
		}
	})
}

type operation struct {
	Parameters []struct {
		Name   string `json:"name"`
		In     string `json:"in"`
		Schema struct {
			Type string `json:"type"`
		} `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       any                `json:"type"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
}

// textField is one string field of a body schema: its huma location
// (.users[0].email) and how to build a body holding a value there.
type textField struct {
	path string
	body func(v string) any
}

func stringFields(s *schema, all map[string]*schema, prefix string) []textField {
	if s == nil {
		return nil
	}
	if s.Ref != "" {
		return stringFields(all[strings.TrimPrefix(s.Ref, "#/components/schemas/")], all, prefix)
	}
	var out []textField
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := s.Properties[n]
		if strings.HasPrefix(n, "$") {
			continue
		}
		typ, _ := p.Type.(string)
		if list, ok := p.Type.([]any); ok && len(list) > 0 {
			typ, _ = list[0].(string)
		}
		switch {
		case typ == "string":
			out = append(out, textField{prefix + "." + n, func(v string) any { return map[string]any{n: v} }})
		case p.Ref != "" || typ == "object":
			for _, f := range stringFields(p, all, prefix+"."+n) {
				out = append(out, textField{f.path, func(v string) any { return map[string]any{n: f.body(v)} }})
			}
		case typ == "array" && p.Items != nil:
			for _, f := range stringFields(p.Items, all, prefix+"."+n+"[0]") {
				out = append(out, textField{f.path, func(v string) any { return map[string]any{n: []any{f.body(v)}} }})
			}
		}
	}
	return out
}
