package views

import (
	"strconv"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// rowsClass sizes a list's type by its number of rows (n-1 … n-20).
func rowsClass(n int) string { return "n-" + strconv.Itoa(min(max(n, 1), 20)) }
