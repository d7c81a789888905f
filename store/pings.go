package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordPing stores one ping delivery inside tx (after FirstDelivery said it
// is new).
func RecordPing(ctx context.Context, tx *sql.Tx, id, note string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO pings (delivery_id, note, received_at) VALUES (?, ?, ?)`, id, note, now.UnixMilli()); err != nil {
		return fmt.Errorf("store: record ping %s: %w", id, err)
	}
	return nil
}
