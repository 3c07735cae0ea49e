package api

import "testing"

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"https://hooks.example.com/duet", "https://hooks.example.com/duet"},
		{"https://user:pw@hooks.example.com/x", "https://redacted@hooks.example.com/x"},
		{"https://tok@hooks.example.com/x", "https://redacted@hooks.example.com/x"},
		{"https://h.example.com/x?token=abc&v=2", "https://h.example.com/x?token=redacted&v=redacted"},
		{"https://h.example.com/x#sig=abc", "https://h.example.com/x"},
		{"http://[::1]:namedport", "(redacted)"},
	} {
		if got := redactURL(c.in); got != c.want {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
