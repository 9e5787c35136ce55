// Package version holds the version of the aurora binary, stamped at build time with
// -ldflags "-X github.com/aurora-cd/aurora/internal/version.Version=v0.1.0".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release of the aurora binary; "dev" when not stamped.
var Version = "dev"

// String describes the binary: release, VCS revision when known, Go version and platform.
func String() string {
	revision := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				revision = s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("aurora %s (revision %s, %s, %s/%s)", Version, revision, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
