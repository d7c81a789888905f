package fourkeys

import "testing"

func TestFindDeploymentRef(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"", ""},
		{"Checkout is down since the deploy.\n\nDeployment: github:org/api:deployment:42", "github:org/api:deployment:42"},
		{"caused by deploy #1234.", "1234"},
		{"broke after f95f852bd8fca8fcc58a9a2d6c842781e32a215e went out", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"},
		{"rollback of 3484a3f please", "3484a3f"},
		{"error code 1234567 and deadbeef", ""},
		{"It looks like you accidently spelled 'commit' with two 't's.", ""},
	} {
		if got := FindDeploymentRef(tc.text); got != tc.want {
			t.Errorf("FindDeploymentRef(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	if got := GitHubDeploymentID("Org/API", 145988746); got != "github:org/api:deployment:145988746" {
		t.Errorf("GitHubDeploymentID = %q", got)
	}
}

func TestFindIncidentRefAndPostmortemURL(t *testing.T) {
	for text, want := range map[string]string{
		"Hotfix for incident: inc-42":     "inc-42",
		"rollback, incident #12":          "12",
		"Incident-ID: INC-7\nmore":        "INC-7",
		"fixes #12":                       "",
		`{"incident": "inc-9", "x": 1}`:   "inc-9",
		"incidental refactor":             "",
		"no incident here, just a change": "",
	} {
		if got := FindIncidentRef(text); got != want {
			t.Errorf("FindIncidentRef(%q) = %q, want %q", text, got, want)
		}
	}
	for text, want := range map[string]string{
		"Postmortem: https://docs.example.com/pm/42":            "https://docs.example.com/pm/42",
		"see the post-mortem (https://wiki.example.com/x).":     "https://wiki.example.com/x",
		"https://status.example.com\npostmortem: to be written": "",
		"postmortem: javascript:alert(1)":                       "",
	} {
		if got := FindPostmortemURL(text); got != want {
			t.Errorf("FindPostmortemURL(%q) = %q, want %q", text, got, want)
		}
	}
}
