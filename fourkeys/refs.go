package fourkeys

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// GitHub event ids, shared by the GitHub webhook and the GitHub poller so
// that the same deployment or issue seen by both is stored once.
func GitHubDeploymentID(repo string, id int64) string {
	return "github:" + strings.ToLower(repo) + ":deployment:" + itoa(id)
}

// GitHubRunID is the deployment id of a successful workflow run.
func GitHubRunID(repo string, id int64) string {
	return "github:" + strings.ToLower(repo) + ":run:" + itoa(id)
}

// GitHubIssueID is the incident id of an issue.
func GitHubIssueID(repo string, number int) string {
	return "github:" + strings.ToLower(repo) + "#" + itoa(int64(number))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var (
	// "deployment: abc", "deploy #123", "caused by deployment v1.2.3".
	namedDeployment = regexp.MustCompile(`(?i)\bdeploy(?:ment)?(?:\s+id)?\s*[:#]\s*([A-Za-z0-9][\w.:/#-]*[\w])`)
	fullSHA         = regexp.MustCompile(`\b[0-9a-f]{40}\b`)
	// A short sha must mix digits and letters, so "deadbeef" or "1234567" in
	// prose is not taken for one.
	shortSHA = regexp.MustCompile(`\b[0-9a-f]{7,12}\b`)
)

// FindDeploymentRef finds the deployment an incident's text names: an
// explicit "deployment: <id>", else a full commit sha, else a short sha
// (7–12 hex digits with both letters and digits). "" if none.
func FindDeploymentRef(text string) string {
	if m := namedDeployment.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if m := fullSHA.FindString(text); m != "" {
		return m
	}
	for _, m := range shortSHA.FindAllString(text, -1) {
		if strings.ContainsAny(m, "0123456789") && strings.ContainsAny(m, "abcdef") {
			return m
		}
	}
	return ""
}

var (
	// "incident: inc-42", "incident #12", "Incident-ID: INC-7", and in a
	// JSON payload {"incident": "inc-42"}.
	namedIncident = regexp.MustCompile(`(?i)\bincident(?:[ _-]id)?"?\s*[:#]\s*"?#?([A-Za-z0-9][\w.:/#-]*[\w])`)
	// "Postmortem: https://…", "post-mortem https://…".
	postmortemLink = regexp.MustCompile(`(?i)\bpost[- ]?mortem\b[^\n]*?(https?://[^\s)>\]"']+)`)
)

// FindIncidentRef finds the incident a deployment's payload, pull request or
// commit message names: an explicit "incident: <id>" or "incident #12"; ""
// if none. A bare "#12" or "fixes #12" is not an incident (most issues are not).
func FindIncidentRef(text string) string {
	if m := namedIncident.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// FindPostmortemURL finds the postmortem document an incident links: the
// first http(s) URL on a line that says "postmortem" (or "post-mortem").
func FindPostmortemURL(text string) string {
	if m := postmortemLink.FindStringSubmatch(text); m != nil && IsDocumentURL(m[1]) {
		return m[1]
	}
	return ""
}

// IsDocumentURL reports whether s is an absolute http or https URL.
func IsDocumentURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
