package views

import (
	"strconv"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func colsClass(n int) string { return "cols-" + strconv.Itoa(n) }
