package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// recordPing stores one ping delivery inside tx (after firstDelivery said it
// is new).
func recordPing(ctx context.Context, tx *sql.Tx, id, note string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO pings (delivery_id, note, received_at) VALUES (?, ?, ?)`, id, note, now.UnixMilli()); err != nil {
		return fmt.Errorf("store: record ping %s: %w", id, err)
	}
	return nil
}

// RecordPingDelivery stores one delivery of the delivery check, once per
// id: first is false for a redelivery (nothing is stored again). When it
// returns nil the delivery is durable.
func (s *Store) RecordPingDelivery(ctx context.Context, receiver, id, note string, now time.Time) (first bool, err error) {
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if first, err = firstDelivery(ctx, tx, receiver, id, now); err != nil || !first {
			return err
		}
		return recordPing(ctx, tx, id, note, now)
	})
	return first, err
}
