// Command host is the matrix host in Go (conformance/matrix/README.md): it
// begins the fixed invocation, spawns the plugin command given after "--"
// with the environment carrier, writes the PluginContext frame on its stdin,
// reads the PluginTelemetry frame from its stdout, ends the invocation and
// prints the report and the hex of the traces and metrics requests.
//
// Usage: host -- PLUGIN-COMMAND [ARGS...]
package main

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

const (
	timeBase   = 1_700_000_000_000_000_000
	maxPayload = 4 << 20
)

var carrier = []string{"TRACEPARENT=", "TRACESTATE=", "BAGGAGE=", "PTEL_CONTEXT="}

// runPlugin returns the payload, or nil and false when the plugin crashed
// or broke the framing.
func runPlugin(args []string, env []string, request []byte) ([]byte, bool) {
	cmd := exec.Command(args[0], args[1:]...)
	for _, e := range os.Environ() {
		keep := true
		for _, c := range carrier {
			if strings.HasPrefix(e, c) {
				keep = false
			}
		}
		if keep {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, false
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false
	}
	if err := cmd.Start(); err != nil {
		return nil, false
	}
	// A plugin that died early is a crash below, as in the other hosts:
	// the write's error alone decides nothing.
	_, _ = in.Write(request)
	_ = in.Close()
	data, rerr := io.ReadAll(io.LimitReader(out, maxPayload+5))
	if rerr == nil && len(data) > maxPayload+4 {
		_, rerr = io.Copy(io.Discard, out)
		data = nil
	}
	werr := cmd.Wait()
	if rerr != nil || werr != nil || len(data) < 4 {
		return nil, false
	}
	n := binary.LittleEndian.Uint32(data)
	if n > maxPayload || int(n) != len(data)-4 {
		return nil, false
	}
	return data[4:], true
}

func run() error {
	if len(os.Args) < 3 || os.Args[1] != "--" {
		return fmt.Errorf("usage: host -- PLUGIN-COMMAND [ARGS...]")
	}
	clock := ptel.NewManualClock(timeBase)
	decision := ptel.DecisionRecordAndSample
	var sid [8]byte
	hex.Decode(sid[:], []byte("a1a2a3a4a5a6a7a8"))
	inv, err := ptel.BeginInvocationW3C("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "tenant=acme,user.tier=gold",
		&ptel.InvocationOptions{
			Decision:      &decision,
			PluginName:    "pii_filter",
			PluginVersion: "1.0.0",
			Hook:          "prompt_pre_fetch",
			SpanID:        sid,
			Start:         time.Unix(0, timeBase),
			RemoteContext: true,
			Clock:         clock,
		})
	if err != nil {
		return err
	}
	defer inv.Close()
	env, err := inv.Env()
	if err != nil {
		return err
	}
	ctxBytes, err := inv.ContextBytes()
	if err != nil {
		return err
	}
	request := binary.LittleEndian.AppendUint32(nil, uint32(len(ctxBytes)))
	request = append(request, ctxBytes...)
	payload, ok := runPlugin(os.Args[2:], env, request)
	clock.Set(1_000_000)
	outcome := ptel.OutcomeOK
	if !ok {
		outcome, payload = ptel.OutcomeCrash, nil
	}
	report, err := inv.End(payload, outcome, "")
	if err != nil && !errors.Is(err, ptel.ErrRejected) {
		return err
	}
	opts := &ptel.ExportOptions{
		Resource:     []ptel.KeyValue{ptel.String("service.name", "matrix-host"), ptel.String("service.version", "1.0.0")},
		ScopeName:    "matrix-host",
		ScopeVersion: "1.0.0",
	}
	traces, err := inv.ExportTraces(opts)
	if err != nil {
		return err
	}
	metrics, err := inv.ExportMetrics(opts)
	if err != nil {
		return err
	}
	fmt.Printf("report %s\ntraces %x\nmetrics %x\n", report.JSON(), traces, metrics)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		os.Exit(2)
	}
}
