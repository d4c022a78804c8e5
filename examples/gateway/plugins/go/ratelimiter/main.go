// Command ratelimiter is the gateway demo's rate limiter: a subprocess
// plugin in Go (examples/gateway/README.md, "Subprocess plugins").
//
// It reads its trace context from the environment (PTEL_CONTEXT, else
// TRACEPARENT), the request as one JSON object on stdin, and writes one JSON
// object on stdout: the decision and its PluginTelemetry in base64. A token
// bucket per client lives in the state file named by -state, because each
// request runs in a new process.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

// request is the part of the gateway's request this plugin reads.
type request struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	Tool   string `json:"tool"`
}

// response is the subprocess protocol's answer.
type response struct {
	Action    string `json:"action"`
	Reason    string `json:"reason,omitempty"`
	Telemetry string `json:"telemetry"`
}

// bucket is one client's token bucket as stored in the state file.
type bucket struct {
	Tokens float64 `json:"tokens"`
	Unix   float64 `json:"unix"` // seconds, when Tokens was computed
}

type limiter struct {
	capacity float64
	refill   float64 // tokens per second
	path     string
}

// take refills the client's bucket for the time elapsed and takes one token
// when there is one. A missing or unreadable state file is a fresh start:
// a rate limiter must not fail requests over its own bookkeeping.
func (l limiter) take(client string, now time.Time) (allowed bool, left float64, err error) {
	state := map[string]bucket{}
	if data, rerr := os.ReadFile(l.path); rerr == nil {
		_ = json.Unmarshal(data, &state)
	}
	t := float64(now.UnixNano()) / 1e9
	b, ok := state[client]
	if !ok || b.Unix > t || math.IsNaN(b.Tokens) {
		b = bucket{Tokens: l.capacity, Unix: t}
	}
	b.Tokens = math.Min(l.capacity, b.Tokens+(t-b.Unix)*l.refill)
	b.Unix = t
	if b.Tokens >= 1 {
		b.Tokens--
		allowed = true
	}
	state[client] = b
	data, _ := json.Marshal(state)
	// Reported to a thousandth of a token: the refill since the last
	// request is a few microseconds' worth, noise in a trace.
	return allowed, math.Round(b.Tokens*1000) / 1000, os.WriteFile(l.path, data, 0o644)
}

func run(l limiter, in io.Reader) (response, error) {
	ctx, cerr := ptel.ContextFromEnv()
	var rec *ptel.Recorder
	if cerr == nil {
		rec, cerr = ptel.NewRecorder(ctx, nil)
	}
	// Without a context the plugin still decides; it returns no telemetry
	// (a nil recorder records nothing).
	if cerr != nil {
		fmt.Fprintln(os.Stderr, "ratelimiter: no telemetry:", cerr)
	}
	var req request
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return response{}, fmt.Errorf("request: %w", err)
	}
	if req.Client == "" {
		req.Client = "anonymous"
	}

	requests := rec.Int64Counter("ratelimit.requests", ptel.WithUnit("{request}"),
		ptel.WithDescription("Requests checked, by decision"))
	tokens := rec.Float64Gauge("ratelimit.tokens", ptel.WithUnit("{token}"),
		ptel.WithDescription("Tokens left in the client's bucket"))

	c, span := rec.Start(context.Background(), "rate_limiter.check",
		ptel.WithAttributes(ptel.String("ratelimit.client", req.Client),
			ptel.String("ratelimit.key", "client"),
			ptel.Float64("ratelimit.capacity", l.capacity),
			ptel.Float64("ratelimit.refill_per_second", l.refill)))
	_, load := rec.Start(c, "rate_limiter.bucket")
	allowed, left, err := l.take(req.Client, time.Now())
	if err != nil {
		load.RecordError(err)
	}
	load.SetAttributes(ptel.String("ratelimit.state.file", l.path))
	load.End()

	decision := "allow"
	if !allowed {
		decision = "deny"
		span.AddEvent("ratelimit.exceeded", ptel.String("ratelimit.client", req.Client))
	}
	span.SetAttributes(ptel.String("ratelimit.decision", decision),
		ptel.Float64("ratelimit.tokens.remaining", left))
	requests.Add(c, 1, ptel.String("ratelimit.decision", decision))
	tokens.Record(c, left, ptel.String("ratelimit.client", req.Client))
	span.End()

	resp := response{Action: "allow"}
	if !allowed {
		resp = response{Action: "block", Reason: "rate limit exceeded for client " + req.Client}
	}
	if rec != nil {
		payload, ferr := rec.Finish()
		if ferr == nil {
			resp.Telemetry = base64.StdEncoding.EncodeToString(payload)
		}
	}
	return resp, nil
}

func main() {
	state := flag.String("state", "ratelimit.json", "token bucket state file")
	capacity := flag.Float64("capacity", 3, "bucket size (burst)")
	refill := flag.Float64("refill", 0.1, "tokens added per second")
	flag.Parse()
	if *capacity < 1 || *refill < 0 {
		fmt.Fprintln(os.Stderr, "ratelimiter: -capacity must be >= 1 and -refill >= 0")
		os.Exit(2)
	}
	resp, err := run(limiter{capacity: *capacity, refill: *refill, path: *state}, os.Stdin)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(resp)
	}
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			err = fmt.Errorf("%w (offset %d)", err, se.Offset)
		}
		fmt.Fprintln(os.Stderr, "ratelimiter:", err)
		os.Exit(1)
	}
}
