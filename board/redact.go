package board

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a credential in text shown or logged.
const redacted = "[redacted]"

var (
	// scheme://user:password@ — the password only; the user name helps.
	userinfoPassword = regexp.MustCompile(`(://[^/\s:@"']*):[^/\s@"']*@`)
	// ?access_token=…, &api_key=…, &sig=… in any URL or query string.
	queryCredential = regexp.MustCompile(`([?&;]([A-Za-z0-9_.\-]+)=)([^&#\s"']*)`)
	// Authorization: Bearer …, Basic …, token … (schemes of an HTTP credential).
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=\-]{6,}`)
	// "Authorization": "…", X-Api-Key=…, password: … (a named credential).
	namedCredential = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|x-api-key|api[-_]?key|password|passwd|secret|private[-_]token|x-auth-token|cookie)("?\s*[:=]\s*"?)([^\s",&]+)`)
)

// Redact removes credentials from an error or log text: passwords in URL
// user-info, credential query parameters (access_token, api_key, sig, …),
// Authorization schemes (Bearer …) and named credentials (password=…).
// Every source error goes through it before it becomes a tile's error on
// the wall or a log line.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = userinfoPassword.ReplaceAllString(s, "$1:"+redacted+"@")
	s = queryCredential.ReplaceAllStringFunc(s, func(m string) string {
		sub := queryCredential.FindStringSubmatch(m)
		name := sub[2]
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if !credentialParam(name) || sub[3] == "" {
			return m
		}
		return sub[1] + redacted
	})
	s = authScheme.ReplaceAllString(s, "$1$2"+redacted)
	s = namedCredential.ReplaceAllStringFunc(s, func(m string) string {
		sub := namedCredential.FindStringSubmatch(m)
		if strings.HasPrefix(sub[3], redacted) || strings.EqualFold(sub[3], "bearer") || strings.EqualFold(sub[3], "basic") {
			return m
		}
		return sub[1] + sub[2] + redacted
	})
	return s
}
