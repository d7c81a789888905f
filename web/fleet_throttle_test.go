package web

import (
	"net/http"
	"testing"
)

// TestFleetAdminTokenGuessesAreThrottled: wrong admin tokens on the screens
// pages spend the same budget as on /admin; past it the address gets 429,
// even with the right token, so the fleet pages are no way around the throttle.
func TestFleetAdminTokenGuessesAreThrottled(t *testing.T) {
	e := startFleet(t)
	get := func(token string) int {
		req, _ := http.NewRequest("GET", e.srv.URL+"/admin/screens", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(fleetAdmin); st != http.StatusOK {
		t.Fatalf("right token: %d, want 200", st)
	}
	for range defaultIngressLimits.adminFailedBurst {
		if st := get("guess"); st != http.StatusUnauthorized {
			t.Fatalf("wrong token within the budget: %d, want 401", st)
		}
	}
	if st := get("guess"); st != http.StatusTooManyRequests {
		t.Errorf("wrong token past the budget: %d, want 429", st)
	}
	if st := get(fleetAdmin); st != http.StatusTooManyRequests {
		t.Errorf("right token past the budget: %d, want 429 (the throttle comes first)", st)
	}
}
