package board

import (
	"fmt"
	"net/url"
	"strings"
)

// checkStoreURL says what is wrong with a store URL ("" if nothing this
// package can tell): PostgreSQL's URL forms only, and no password written
// in it (the password is a secret: store.password or PGPASSWORD). The
// store itself checks the rest when it parses the URL.
func checkStoreURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// url's message quotes the URL, which may hold a password.
		return "not a URL: give postgres://USER@HOST:5432/DATABASE"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Sprintf("scheme %q: give postgres:// or postgresql:// (leave store out for the SQLite file in the data directory)", u.Scheme)
	}
	if _, ok := u.User.Password(); ok {
		return "a password written in the URL: give it as store.password: {env: PGPASSWORD} or {file: /path}"
	}
	if v := u.Query().Get("password"); v != "" {
		return "a password written in the URL: give it as store.password: {env: PGPASSWORD} or {file: /path}"
	}
	if strings.EqualFold(u.Query().Get("synchronous_commit"), "off") {
		return "synchronous_commit=off would acknowledge webhooks before they are stored"
	}
	return ""
}

func (c *Config) validateStore() []Problem {
	st := c.Store
	if st == nil {
		return nil
	}
	var probs []Problem
	add := func(format string, args ...any) {
		probs = append(probs, Problem{File: c.File, Line: st.Line, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case st.URL == "":
		add("store.url is missing: give postgres://USER@HOST:5432/DATABASE (or remove store: for the SQLite file)")
	default:
		if msg := checkStoreURL(st.URL); msg != "" {
			add("store.url: %s", msg)
		}
	}
	if st.Password != nil {
		if msg := st.Password.check(); msg != "" {
			add("store.password: %s", msg)
		}
	}
	return probs
}
