package cli

import (
	"errors"
)

// Exit codes of the user commands, as Armory's CLI: 0 success, 1 failure, 3 conflict (a deployment
// of the application is already in progress).
const (
	ExitFailure  = 1
	ExitConflict = 3
)

// exitError carries an exit code; with a nil err the command has already said what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withExitCode gives err an exit code.
func withExitCode(code int, err error) error { return &exitError{code: code, err: err} }

// ExitCode is the process exit code for an error a command returned: 0 for nil, the code it
// carries, else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return ExitFailure
}
