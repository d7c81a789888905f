package board

import "time"

// Alert is one alert from any source (Cloud Monitoring, Alertmanager, the
// generic incident webhook), in one model so the wall shows them alike.
type Alert struct {
	// ID is unique within Source: a Cloud Monitoring incident id, an
	// Alertmanager fingerprint, a generic webhook's id.
	ID       string     `json:"id"`
	Source   string     `json:"source"` // source or webhook id that reported it
	Title    string     `json:"title"`
	Severity Severity   `json:"severity"`
	State    AlertState `json:"state"`
	// StartedAt is when the problem began; EndedAt when it closed (zero while open).
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Resource  string    `json:"resource,omitempty"` // what is affected, e.g. "cloud_run_revision api"
	Summary   string    `json:"summary,omitempty"`
	// NextAction is what a person should do now (policy documentation,
	// runbook text). Empty is itself a finding: see the hygiene tile.
	NextAction string `json:"next_action,omitempty"`
	RunbookURL string `json:"runbook_url,omitempty"`
	ConsoleURL string `json:"console_url,omitempty"`
	Policy     string `json:"policy,omitempty"` // alert policy or alert rule name
}

// Severity orders alerts; critical ones take over the screen.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityError    Severity = "error"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// AlertState is open or closed.
type AlertState string

const (
	AlertOpen   AlertState = "open"
	AlertClosed AlertState = "closed"
)

// AlertLayer is a board's takeover or banner: the newest open critical
// alert of the board's alert feeds, with the count of the others, and how
// the board shows it. Package alerts decides it; views renders it.
type AlertLayer struct {
	Board    string
	Alert    *Alert    // nil: nothing critical is open
	OpenedAt time.Time // when this board recorded it open: the takeover clock
	Others   int       // further open critical alerts
	Takeover time.Duration
	Chime    bool
	Locale   string
	Now      time.Time // when it was decided (the render time)
}
