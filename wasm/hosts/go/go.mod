module github.com/ptel-dev/ptel/wasm/hosts/go

go 1.26.0

require (
	github.com/ptel-dev/ptel v0.0.0
	github.com/tetratelabs/wazero v1.12.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/ptel-dev/ptel => ../../..
