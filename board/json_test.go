package board

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTileStateJSONKeepsNonFiniteNumbers(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := TileState{
		Board: "b", Tile: "t",
		Result: Result{
			Value:    F(math.NaN()),
			Series:   []Point{{T: at, V: math.Inf(-1)}, {T: at, V: 1.5}},
			Rows:     []Row{{Label: "api", Value: F(math.Inf(1)), Status: StatusOK}, {Label: "db", Value: nil, Text: "down"}},
			Warnings: []string{"w"},
			At:       at,
		},
		Prev:      F(math.Inf(1)),
		History:   []Point{{T: at, V: math.NaN()}},
		Status:    StatusUnknown,
		UpdatedAt: at,
		Freshness: 3 * time.Second,
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	for _, want := range []string{`"value":"NaN"`, `"prev":"+Inf"`, `"v":"-Inf"`, `"board":"b"`, `"freshness":3000000000`, `"label":"db","text":"down","status":"","value":null`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s\nlacks %s", b, want)
		}
	}
	var back TileState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if !math.IsNaN(*back.Value) || !math.IsInf(*back.Prev, 1) || !math.IsInf(back.Series[0].V, -1) ||
		!math.IsNaN(back.History[0].V) || !math.IsInf(*back.Rows[0].Value, 1) || back.Rows[1].Value != nil {
		t.Fatalf("non-finite numbers lost: %+v", back)
	}
	// Everything else round-trips unchanged.
	back.Value, st.Value, back.Prev, st.Prev = nil, nil, nil, nil
	back.Series[0].V, st.Series[0].V, back.History, st.History = 0, 0, nil, nil
	back.Rows[0].Value, st.Rows[0].Value = nil, nil
	if !reflect.DeepEqual(back, st) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, st)
	}
}

func TestFiniteNumbersStayNumbers(t *testing.T) {
	b, err := json.Marshal(TileState{Result: Result{Value: F(42), Rows: []Row{{Label: "a", Value: F(0.5)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":42`) || !strings.Contains(string(b), `"value":0.5`) {
		t.Errorf("JSON %s: finite values must stay JSON numbers", b)
	}
	var p Point
	if err := json.Unmarshal([]byte(`{"t":"2026-01-01T00:00:00Z","v":"bogus"}`), &p); err == nil {
		t.Error(`"bogus" decoded as a number`)
	}
}
