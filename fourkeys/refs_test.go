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
