package store

import "time"

// Times are stored as INTEGER unix milliseconds (UTC); the zero time is 0,
// so "not set" survives a round trip.

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
