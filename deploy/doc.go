// Package deploy holds the files that run Wallboard somewhere else than a
// laptop: the container image recipe (image/), Cloud Run services
// (cloudrun/), a Kubernetes kustomization (kubernetes/) and a systemd unit
// (systemd/). It has no code of its own; its tests check that the manifests
// parse, agree with each other and with the image, and point their probes at
// routes the server has.
package deploy
