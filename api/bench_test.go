package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func benchServer(b *testing.B, db *store.DB) (*httptest.Server, string) {
	s := api.New(api.Config{Services: api.Services{Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db, Idempotency: db}})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	key, err := db.CreateAPIKey(billing.NewContextWithActor(context.Background(), billing.SystemActor),
		&billing.APIKey{Role: billing.RoleOperator})
	if err != nil {
		b.Fatal(err)
	}
	return srv, key
}

func benchStores(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.OpenSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.OpenPostgres(b)) })
}

// BenchmarkAPI_CreateAccount is one POST /v1/accounts end to end: auth,
// validation, a transaction with the account, its number and an audit event.
func BenchmarkAPI_CreateAccount(b *testing.B) {
	benchStores(b, func(b *testing.B, db *store.DB) {
		srv, key := benchServer(b, db)
		i := 0
		for b.Loop() {
			i++
			req, _ := http.NewRequest("POST", srv.URL+"/v1/accounts",
				strings.NewReader(fmt.Sprintf(`{"name": "Co %d", "domain": "co%d.example.com"}`, i, i)))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 201 {
				b.Fatalf("create: %v %v", err, resp)
			}
			resp.Body.Close()
		}
	})
}

// BenchmarkAPI_GetAccount is one authenticated read.
func BenchmarkAPI_GetAccount(b *testing.B) {
	benchStores(b, func(b *testing.B, db *store.DB) {
		srv, key := benchServer(b, db)
		a := &billing.Account{Name: "Acme", Domain: "acme.example.com"}
		if err := db.CreateAccount(context.Background(), a); err != nil {
			b.Fatal(err)
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", srv.URL+"/v1/accounts/"+a.Number, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("get: %v %v", err, resp)
				}
				resp.Body.Close()
			}
		})
	})
}
