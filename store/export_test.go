package store

import (
	"context"
	"fmt"
)

// MigrateTo applies the migrations up to version, for tests of a migration
// on the rows an older schema held.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.migrationProvider(ctx)
	if err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	_, err = p.UpTo(ctx, version)
	return err
}
