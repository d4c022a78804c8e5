package ptel

import (
	"fmt"
	"strconv"
)

// ErrorCode is a status code of the C core (PTEL_STATUS_MAP). Every code
// but 0 is an exported sentinel (ErrInvalidArgument, ErrTraceparent, ...):
// compare with errors.Is, which also sees through *Error.
type ErrorCode int32

func (c ErrorCode) index() (int, bool) {
	i := -int(c)
	return i, i >= 0 && i < len(errorCodeNames)
}

// Error returns the core's English message for the code.
func (c ErrorCode) Error() string {
	if i, ok := c.index(); ok {
		return "ptel: " + errorCodeMessages[i]
	}
	return "ptel: unknown status " + strconv.Itoa(int(c))
}

// Name returns the C name of the code without the PTEL_ prefix ("E_NOMEM"),
// or "UNKNOWN".
func (c ErrorCode) Name() string {
	if i, ok := c.index(); ok {
		return errorCodeNames[i]
	}
	return "UNKNOWN"
}

// Error is what a failed call returns: the status code plus the core's
// diagnostics (where in the input, which protobuf field, why).
type Error struct {
	Code   ErrorCode // the sentinel this error matches with errors.Is
	Op     string    // the operation that failed, e.g. "decode context"
	Field  uint32    // protobuf field number involved, or 0
	Offset uint64    // byte offset into the input where the problem was found
	Reason string    // the core's explanation, or ""
}

// Error formats the error with its diagnostics.
func (e *Error) Error() string {
	s := "ptel: " + e.Op + ": " + e.Code.Error()[len("ptel: "):]
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Offset != 0 || e.Field != 0 {
		s += fmt.Sprintf(" (offset %d, field %d)", e.Offset, e.Field)
	}
	return s
}

// Unwrap returns the sentinel ErrorCode, so errors.Is(err, ErrX) works.
func (e *Error) Unwrap() error { return e.Code }

// Reason is a host validation reason (PTEL_REASON_MAP): why something in a
// plugin's payload was dropped or changed.
type Reason int32

// ReasonNone is the Report.FirstReason of a payload without problems.
const ReasonNone Reason = -1

// String returns the reason's stable snake_case name ("trace_id_mismatch"),
// or "unknown".
func (r Reason) String() string {
	if r >= 0 && int(r) < reasonCount {
		return reasonNames[r]
	}
	return "unknown"
}

// Message returns the reason's English message, or "unknown reason".
func (r Reason) Message() string {
	if r >= 0 && int(r) < reasonCount {
		return reasonMessages[r]
	}
	return "unknown reason"
}

// Reasons returns every reason in value order.
func Reasons() []Reason {
	out := make([]Reason, reasonCount)
	for k := range out {
		out[k] = Reason(k)
	}
	return out
}
