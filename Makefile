# Wallboard. The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
DATA ?= data
ADDR ?= 127.0.0.1:8080
# CONFIG: a board config (YAML); empty runs the built-in demo.
# ACCESS: the access mode when the config sets none; ACCESS=open shows the
# built-in demo to a TV on the LAN (with ADDR=0.0.0.0:8080).
BIN ?= bin/wallboard

.PHONY: run build image generate lint test test-deps bench fuzz fuzz-short clean

## run: build, start the built-in demo board (or CONFIG) and print its URL
# The build prints each package it compiles (the first one, on a cold cache,
# takes about a minute); exec makes the board make's own child, so Ctrl-C
# stops it cleanly (it exits 0) with no make error.
run:
	@echo "building $(BIN) (go build -v: the first build compiles every dependency, about a minute)…"
	@$(GO) build -v -o $(BIN) ./cmd/wallboard 2>&1 | sed -u 's/^/  compiling /'; exit $${PIPESTATUS[0]}
	@echo "starting $(BIN) -addr $(ADDR) -data $(DATA)$(if $(CONFIG), -config $(CONFIG))$(if $(ACCESS), -access $(ACCESS))"
	@exec $(BIN) -addr $(ADDR) -data $(DATA) $(if $(CONFIG),-config $(CONFIG)) $(if $(ACCESS),-access $(ACCESS))

## build: the wallboard binary in ./bin
build:
	$(GO) build -o $(BIN) ./cmd/wallboard

## image: the container image, without a container daemon: a static binary
## (CGO_ENABLED=0, -trimpath, no symbol table, VCS-stamped when built in a git checkout) on an
## empty base with CA certificates and time zones, as an OCI layout in
## bin/image/oci and a tarball for docker/podman load; IMAGE_ARCH=arm64 for ARM
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
IMAGE_REF ?= wallboard:latest
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -buildvcs=auto -ldflags='-s -w' -o bin/image/wallboard-linux-$(IMAGE_ARCH) ./cmd/wallboard
	$(GO) run ./deploy/image -binary bin/image/wallboard-linux-$(IMAGE_ARCH) -arch $(IMAGE_ARCH) -ref $(IMAGE_REF) \
		-layout bin/image/oci -tar bin/image/wallboard.tar

## generate: regenerate templ components (the *_templ.go files are committed)
generate:
	$(GO) tool templ generate

## lint: vet, gofmt, templ fmt, and generated files up to date
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool templ fmt -fail .
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || (echo "templ generate changed files: commit them"; exit 1)

## test-deps: install what the end-to-end tests drive (Debian packages), when missing
test-deps:
	@scripts/test-deps.sh

## test: the whole suite, race detector on, browsers and real peers included,
## then a short run of every fuzz target
test: test-deps lint fuzz-short
	$(GO) test -race -count=1 -timeout 20m ./...

## bench: benchmarks; figures go to BENCHMARKS.md
bench: test-deps
	scripts/bench.sh

## fuzz: a fuzz run of every parser of outside input (FUZZTIME each, default 20s)
fuzz:
	scripts/fuzz.sh $(or $(FUZZTIME),20s)

## fuzz-short: 5 s of fuzzing per target, part of `make test`: 10 targets, 50 s
## of fuzzing, plus building each package with fuzz instrumentation (the first
## time it compiles every dependency again: minutes on 2 cores); scripts/fuzz.sh
## prints the time of each target and the total
fuzz-short:
	scripts/fuzz.sh 5s

clean:
	rm -rf bin $(DATA)
