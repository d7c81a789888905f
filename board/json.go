package board

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// NaN and ±Inf are real answers (0/0 in PromQL, a quantile of no traffic) and
// reach tile state as such, but encoding/json refuses them, which would fail
// the JSON API of a whole board and the saving of every tile in the batch.
// Tile state, rows and points therefore encode a non-finite number as the
// string "NaN", "+Inf" or "-Inf" (as Prometheus does), and decode either form.

// jsonNum is a float64 that survives JSON whatever its value.
type jsonNum float64

func (n jsonNum) MarshalJSON() ([]byte, error) {
	x := float64(n)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(x)
}

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN", "+Inf", "-Inf", "Inf":
			x, _ := strconv.ParseFloat(s, 64)
			*n = jsonNum(x)
			return nil
		}
		return fmt.Errorf("number %q: want a number, NaN, +Inf or -Inf", s)
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*n = jsonNum(x)
	return nil
}

func toNum(v *float64) *jsonNum {
	if v == nil {
		return nil
	}
	n := jsonNum(*v)
	return &n
}

func fromNum(n *jsonNum) *float64 {
	if n == nil {
		return nil
	}
	return F(float64(*n))
}

type pointJSON struct {
	T time.Time `json:"t"`
	V jsonNum   `json:"v"`
}

// MarshalJSON writes non-finite values as strings.
func (p Point) MarshalJSON() ([]byte, error) { return json.Marshal(pointJSON{p.T, jsonNum(p.V)}) }

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Point) UnmarshalJSON(b []byte) error {
	var x pointJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*p = Point{T: x.T, V: float64(x.V)}
	return nil
}

// rowFields has Row's fields without its methods; the Value field of the
// wrapper below is less nested and so replaces it in JSON.
type rowFields Row

type rowJSON struct {
	rowFields
	Value *jsonNum `json:"value"`
}

// MarshalJSON writes non-finite values as strings.
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal(rowJSON{rowFields: rowFields(r), Value: toNum(r.Value)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Row) UnmarshalJSON(b []byte) error {
	var x rowJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*r = Row(x.rowFields)
	r.Value = fromNum(x.Value)
	return nil
}

// tileFields has TileState's fields without its methods (Result, embedded in
// it, has none, so it must not get any either: they would be promoted).
type tileFields TileState

type tileJSON struct {
	tileFields
	Value *jsonNum `json:"value"`
	Prev  *jsonNum `json:"prev"`
}

// MarshalJSON writes non-finite values as strings.
func (s TileState) MarshalJSON() ([]byte, error) {
	return json.Marshal(tileJSON{tileFields: tileFields(s), Value: toNum(s.Value), Prev: toNum(s.Prev)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *TileState) UnmarshalJSON(b []byte) error {
	var x tileJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*s = TileState(x.tileFields)
	s.Value, s.Prev = fromNum(x.Value), fromNum(x.Prev)
	return nil
}
