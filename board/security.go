package board

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// webhookSections maps each receiver's config key to its section (nil when
// absent), in a fixed order.
func (c *Config) webhookSections() []struct {
	Name string
	Cfg  *WebhookConfig
} {
	return []struct {
		Name string
		Cfg  *WebhookConfig
	}{
		{"github", c.Webhooks.GitHub},
		{"alertmanager", c.Webhooks.Alertmanager},
		{"cloudmonitoring", c.Webhooks.CloudMonitoring},
		{"events", c.Webhooks.Events},
	}
}

// ParsePrefixes parses CIDRs or single addresses ("10.0.0.0/8", "127.0.0.1").
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// validateSecurity checks access:, admin: and webhooks:.
func (c *Config) validateSecurity() []Problem {
	var probs []Problem
	add := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: c.File, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	// A receiver is enabled by its section being present; it must then say
	// how senders prove who they are, or anyone could post events.
	for _, w := range c.webhookSections() {
		line := c.webhookLines[w.Name]
		if w.Cfg == nil && line == 0 {
			continue
		}
		where := "webhooks." + w.Name
		switch {
		case w.Cfg == nil || (w.Cfg.Secret == nil && w.Cfg.BasicAuth == nil):
			add(line, "%s: a receiver needs a secret: give secret: {env: VARIABLE} or secret: {file: /path} (or remove the section to turn it off)", where)
		case w.Cfg.Secret != nil:
			if msg := w.Cfg.Secret.check(); msg != "" {
				add(line, "%s.secret: %s", where, msg)
			}
		}
		if w.Cfg != nil && w.Cfg.BasicAuth != nil && w.Name != "cloudmonitoring" {
			// Only Cloud Monitoring's webhook_basicauth channel sends basic
			// auth; the other receivers check a secret and would stay shut.
			add(line, "%s.basic_auth: only the cloudmonitoring receiver takes basic auth; give secret: instead", where)
		} else if w.Cfg != nil && w.Cfg.BasicAuth != nil {
			switch {
			case w.Cfg.BasicAuth.Username == "":
				add(line, "%s.basic_auth: username is empty", where)
			case w.Cfg.BasicAuth.Password == nil:
				add(line, "%s.basic_auth: password is missing", where)
			default:
				if msg := w.Cfg.BasicAuth.Password.check(); msg != "" {
					add(line, "%s.basic_auth.password: %s", where, msg)
				}
			}
		}
	}
	if c.Admin != nil {
		if c.Admin.Token == nil {
			add(c.adminLine, "admin: token is missing: give token: {env: WALLBOARD_ADMIN_TOKEN}")
		} else if msg := c.Admin.Token.check(); msg != "" {
			add(c.adminLine, "admin.token: %s", msg)
		}
	}
	a := &c.Access
	switch a.Mode {
	case "", AccessOpen, AccessScreens, AccessProxy:
	default:
		add(a.Line, "access.mode %q: use open, screens or proxy", a.Mode)
	}
	if len(a.Screens) > 0 && a.Mode != AccessScreens {
		add(a.Line, "access.screens are listed but access.mode is %q: set mode: screens", a.Mode)
	}
	if a.Mode == AccessScreens && len(a.Screens) == 0 {
		add(a.Line, "access.mode screens needs at least one entry under access.screens (make one with `wallboard screen-link -name lobby-tv`)")
	}
	names, hashes := map[string]int{}, map[string]int{}
	for _, s := range a.Screens {
		line := max(s.Line, a.Line)
		switch {
		case !idPattern.MatchString(s.Name):
			add(line, "access.screens: name %q: use lower-case letters, digits, - and _", s.Name)
		case names[s.Name] != 0:
			add(line, "access.screens: duplicate name %q (first on line %d)", s.Name, names[s.Name])
		default:
			names[s.Name] = max(line, 1)
		}
		h := strings.ToLower(s.TokenSHA256)
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			add(line, "access.screens %q: token_sha256 must be 64 hex digits (the hash printed by `wallboard screen-link`, never the token itself)", s.Name)
		} else if first, dup := hashes[h]; dup {
			add(line, "access.screens %q: same token_sha256 as the screen on line %d: each screen needs its own link", s.Name, first)
		} else {
			hashes[h] = max(line, 1)
		}
	}
	if _, err := ParsePrefixes(a.TrustedProxies); err != nil {
		add(a.Line, "access.trusted_proxies: %v", err)
	}
	if a.Proxy != nil && a.Mode != AccessProxy {
		add(a.Line, "access.proxy is set but access.mode is %q: set mode: proxy", a.Mode)
	}
	if a.Mode == AccessProxy {
		if len(a.TrustedProxies) == 0 {
			add(a.Line, "access.mode proxy needs access.trusted_proxies: the addresses of the authenticating proxy (identity headers from anywhere else are refused)")
		}
		if p := a.Proxy; p != nil {
			if p.Header != "" && strings.ContainsAny(p.Header, " :\t\r\n") {
				add(a.Line, "access.proxy.header %q is not a header name", p.Header)
			}
			for _, e := range p.Allow {
				if !strings.Contains(e, "@") {
					add(a.Line, "access.proxy.allow %q: give an e-mail (ana@example.com) or a domain (@example.com)", e)
				}
			}
			if iap := p.IAP; iap != nil {
				if iap.Audience == "" {
					add(a.Line, "access.proxy.iap: audience is required (/projects/NUMBER/global/backendServices/ID)")
				}
				switch {
				case (iap.JWKSFile == "") == (iap.JWKSURL == ""):
					add(a.Line, "access.proxy.iap: give jwks_file or jwks_url, exactly one")
				case iap.JWKSURL != "":
					if msg := checkJWKSURL(iap.JWKSURL); msg != "" {
						add(a.Line, "access.proxy.iap.jwks_url: %s", msg)
					}
				}
			}
		}
	}
	for _, o := range a.FrameAncestors {
		if msg := checkOrigin(o); msg != "" {
			add(a.Line, "access.frame_ancestors %q: %s", o, msg)
		}
	}
	return probs
}

// checkJWKSURL wants https, or http to a loopback host (a local mirror).
func checkJWKSURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "not an absolute URL"
	}
	if u.Scheme == "https" {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())) {
		return ""
	}
	return "use https (plain http only to a loopback address)"
}

// checkOrigin accepts 'self' or an origin (scheme://host[:port]), which is
// what CSP frame-ancestors expects; anything else could inject directives.
func checkOrigin(o string) string {
	if o == "'self'" {
		return ""
	}
	if strings.ContainsAny(o, " ;,'\"\t\r\n") {
		return "an origin has no spaces, quotes, commas or semicolons"
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "give an origin such as https://portal.example"
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "give only scheme://host[:port], without a path"
	}
	return ""
}
