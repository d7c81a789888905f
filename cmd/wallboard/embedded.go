package main

// Fallbacks compiled into the binary, so that it needs nothing from the
// machine it runs on: a container image built FROM scratch without them, a
// distroless base, or a minimal host. Each is used only when the system has
// none: the time zone database in ZONEINFO or /usr/share/zoneinfo (for a
// board's standup time zone), and the CA roots in SSL_CERT_FILE or
// /etc/ssl/certs (for HTTPS to Cloud Monitoring, GitHub, Prometheus). The
// image ships both from Debian anyway (current data, updated by a rebuild);
// these add about 450 KB and 250 KB to the binary.
import (
	_ "time/tzdata"

	_ "golang.org/x/crypto/x509roots/fallback"
)
