package api_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/kore-billing/korebill/api"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from the code")

// The committed api/openapi.json is the contract clients read; it must be
// what the server serves. Regenerate with: go test ./api -run OpenAPI -update
func TestOpenAPI_CommittedCopyMatchesServed(t *testing.T) {
	got, err := api.New(api.Config{Version: "dev"}).OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatalf("read committed copy: %v (run: go test ./api -run OpenAPI -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("api/openapi.json differs from the served document; run: go test ./api -run OpenAPI -update")
	}
}
