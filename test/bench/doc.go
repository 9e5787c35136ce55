// Package bench holds Go benchmarks of Aurora as a whole: the environment of internal/devenv (a
// cloud cluster, full target clusters with simulated nodes, the controllers, the auth service, the
// Agent Hub and one Remote Network Agent per target) started inside each benchmark. The package has
// no tests, so `go test ./...` only builds it; see README.md for how to run the benchmarks.
package bench
