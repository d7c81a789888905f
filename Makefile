# Wallboard. The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
DATA ?= data
ADDR ?= 127.0.0.1:8080

.PHONY: run build generate lint test test-deps bench fuzz fuzz-short clean

## run: start the built-in demo board and print its URL
run:
	$(GO) run ./cmd/wallboard -addr $(ADDR) -data $(DATA) $(if $(CONFIG),-config $(CONFIG))

## build: the wallboard binary in ./bin
build:
	$(GO) build -o bin/wallboard ./cmd/wallboard

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

## fuzz-short: 5 s of each fuzz target, part of `make test` (about a minute in all)
fuzz-short:
	scripts/fuzz.sh 5s

clean:
	rm -rf bin $(DATA)
