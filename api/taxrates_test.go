package api_test

import (
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func TestTaxRatesAPI_SetListGetDelete(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, _ := setupBilling(t, db, "2026-01-19T10:00:00Z")
		viewer := b.keyFor(t, b.createAccount(t, "Acme", "acme.example.com"), billing.RoleViewer)
		de := b.mustCall(t, 200, "PUT", "/v1/tax-rates/DE", b.opKey, map[string]any{"basis_points": 1900})
		if de["country"] != "DE" || de["rate"] != "19%" {
			t.Errorf("set = %v", de)
		}
		b.mustCall(t, 200, "PUT", "/v1/tax-rates/fr", b.opKey, map[string]any{"basis_points": 2000})
		list := b.mustCall(t, 200, "GET", "/v1/tax-rates", viewer, nil)["items"].([]any)
		if len(list) != 2 || list[1].(map[string]any)["country"] != "FR" {
			t.Errorf("list = %v", list)
		}
		if got := b.mustCall(t, 200, "GET", "/v1/tax-rates/de", viewer, nil); got["basis_points"].(float64) != 1900 {
			t.Errorf("get = %v", got)
		}
		b.mustCall(t, 403, "DELETE", "/v1/tax-rates/DE", viewer, nil)
		b.mustCall(t, 204, "DELETE", "/v1/tax-rates/DE", b.opKey, nil)
		b.mustCall(t, 404, "GET", "/v1/tax-rates/DE", viewer, nil)
		b.mustCall(t, 404, "DELETE", "/v1/tax-rates/DE", b.opKey, nil)
	})
}
