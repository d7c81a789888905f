package board

import "testing"

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Get "https://prom.example/api/v1/query?query=up&access_token=abc123": EOF`, `Get "https://prom.example/api/v1/query?query=up&access_token=[redacted]": EOF`},
		{"https://ana:hunter2@am.example/api", "https://ana:[redacted]@am.example/api"},
		{"upstream said: Authorization: Bearer eyJhbGciOi.x.y", "upstream said: Authorization: Bearer [redacted]"},
		{`{"authorization":"Basic YW5hOmh1bnRlcjI="}`, `{"authorization":"Basic [redacted]"}`},
		{"password=hunter2&user=ana", "password=[redacted]&user=ana"},
		{"X-Api-Key: k-123456", "X-Api-Key: [redacted]"},
		{"https://x.example/?sig=abcdef&page=2", "https://x.example/?sig=[redacted]&page=2"},
		// Nothing secret: unchanged.
		{"prom: http://127.0.0.1:9090 answered HTTP 500: internal error", "prom: http://127.0.0.1:9090 answered HTTP 500: internal error"},
		{"query=sum(rate(x[5m]))&step=15", "query=sum(rate(x[5m]))&step=15"},
		{"token: give env: VARIABLE", "token: give env: VARIABLE"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
