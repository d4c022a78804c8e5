// Package wasmhost runs ptel WASM plugins (the guest ABI of PROTOCOL.md,
// appendix C) with wazero under a host ptel.Invocation.
//
// The host writes the invocation's PluginContext and the plugin's input into
// guest memory, calls ptel_guest_invoke under a deadline and a memory limit,
// copies the PluginTelemetry bytes out and ends the invocation with them;
// ptel.Invocation.End validates them like any payload.
//
// Guest faults are not errors: a trap, the deadline, memory exhaustion or a
// result outside guest memory ends the invocation with outcome crash or
// timeout, and the next Invoke runs on a fresh instance. Before dropping a
// faulted instance the host asks it for what it had recorded
// (ptel_guest_salvage, when exported): its spans are exported and the spans
// it had open are ended with status ERROR and the fault's error.type.
package wasmhost

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// ABIVersion is the guest ABI version this host implements.
const ABIVersion = 1

// ErrABI reports a module that does not implement guest ABI version 1.
var ErrABI = errors.New("wasmhost: not a ptel guest ABI v1 module")

// Options configure a Plugin. The zero value is usable.
type Options struct {
	// Timeout bounds one invocation; 0 = 1 s.
	Timeout time.Duration
	// MemoryLimitPages caps linear memory in 64 KiB pages; 0 = 256 (16 MiB).
	MemoryLimitPages uint32
	// Deterministic selects the guest's deterministic clock and ids
	// (conformance tests).
	Deterministic bool
}

// Result is what one Invoke did.
type Result struct {
	Outcome   ptel.Outcome // the outcome the invocation was ended with
	Report    ptel.Report
	Status    int32  // ptel_guest_invoke's return: 0, plugin error > 0, PTEL_E_* < 0
	Output    []byte // the plugin's functional output
	Payload   []byte // the PluginTelemetry bytes (nil after a fault)
	ErrorType string // error.type of a failed invocation
}

// Plugin is one compiled module with one live instance; plugins may keep
// state between invocations. Not safe for concurrent use: use one Plugin
// per concurrent invocation.
type Plugin struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	opts     Options
	mod      api.Module
	fn       map[string]api.Function
	scratch  uint32
	buf      uint32
	bufCap   uint32
}

// salvageExport is the optional export that finishes a faulted invocation.
const salvageExport = "ptel_guest_salvage"

var exports = []string{"ptel_guest_abi_version", "ptel_guest_alloc", "ptel_guest_free",
	"ptel_guest_configure", "ptel_guest_invoke", "ptel_guest_result", "ptel_guest_output"}

// Load compiles wasm and instantiates it once.
func Load(ctx context.Context, wasm []byte, opts Options) (*Plugin, error) {
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.MemoryLimitPages == 0 {
		opts.MemoryLimitPages = 256
	}
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(true).
		WithMemoryLimitPages(opts.MemoryLimitPages)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	p := &Plugin{rt: rt, compiled: compiled, opts: opts}
	if err := p.instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return p, nil
}

// Close releases the runtime and every instance.
func (p *Plugin) Close(ctx context.Context) error { return p.rt.Close(ctx) }

func (p *Plugin) instantiate(ctx context.Context) error {
	// No files, arguments or environment: real clocks and randomness only.
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, mc)
	if err != nil {
		return err
	}
	fn := map[string]api.Function{}
	for _, name := range exports {
		if fn[name] = mod.ExportedFunction(name); fn[name] == nil {
			mod.Close(ctx)
			return fmt.Errorf("%w: missing export %s", ErrABI, name)
		}
	}
	if mod.Memory() == nil {
		mod.Close(ctx)
		return fmt.Errorf("%w: missing export memory", ErrABI)
	}
	if f := mod.ExportedFunction(salvageExport); f != nil {
		fn[salvageExport] = f // optional in ABI version 1
	}
	fail := func(err error) error { mod.Close(ctx); return err }
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			return fail(err)
		}
	}
	if v, err := fn["ptel_guest_abi_version"].Call(ctx); err != nil {
		return fail(err)
	} else if int32(v[0]) != ABIVersion {
		return fail(fmt.Errorf("%w: guest ABI version %d", ErrABI, int32(v[0])))
	}
	flags := uint64(0)
	if p.opts.Deterministic {
		flags = 1
	}
	if r, err := fn["ptel_guest_configure"].Call(ctx, flags); err != nil || int32(r[0]) != 0 {
		return fail(fmt.Errorf("%w: ptel_guest_configure refused the flags", ErrABI))
	}
	r, err := fn["ptel_guest_alloc"].Call(ctx, 8)
	if err != nil || uint32(r[0]) == 0 {
		return fail(fmt.Errorf("%w: ptel_guest_alloc failed", ErrABI))
	}
	p.mod, p.fn, p.scratch, p.buf, p.bufCap = mod, fn, uint32(r[0]), 0, 0
	return nil
}

// errBadResult marks a guest that returned an unusable result.
var errBadResult = errors.New("bad result")

func (p *Plugin) reserve(ctx context.Context, n uint32) (uint32, error) {
	if n <= p.bufCap && p.buf != 0 {
		return p.buf, nil
	}
	if p.buf != 0 {
		if _, err := p.fn["ptel_guest_free"].Call(ctx, uint64(p.buf), uint64(p.bufCap)); err != nil {
			return 0, err
		}
		p.buf, p.bufCap = 0, 0
	}
	c := max(n, 256)
	r, err := p.fn["ptel_guest_alloc"].Call(ctx, uint64(c))
	if err != nil {
		return 0, err
	}
	if uint32(r[0]) == 0 {
		return 0, fmt.Errorf("%w: guest out of memory", errBadResult)
	}
	p.buf, p.bufCap = uint32(r[0]), c
	return p.buf, nil
}

func (p *Plugin) readPair(ctx context.Context, name string) ([]byte, error) {
	r, err := p.fn[name].Call(ctx, uint64(p.scratch), uint64(p.scratch+4))
	if err != nil {
		return nil, err
	}
	if int32(r[0]) != 0 {
		return nil, fmt.Errorf("%w: %s returned %d", errBadResult, name, int32(r[0]))
	}
	pair, ok := p.mod.Memory().Read(p.scratch, 8)
	if !ok {
		return nil, errBadResult
	}
	ptr, n := binary.LittleEndian.Uint32(pair), binary.LittleEndian.Uint32(pair[4:])
	b, ok := p.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: [%d, +%d) outside guest memory", errBadResult, ptr, n)
	}
	return append([]byte(nil), b...), nil
}

// Invoke runs the plugin for inv with input and ends inv with its
// telemetry. The error is nil for every guest fault (see Result); it is
// non-nil only when the host itself fails (inv unusable, instantiation).
func (p *Plugin) Invoke(ctx context.Context, inv *ptel.Invocation, input []byte) (Result, error) {
	cb, err := inv.ContextBytes()
	if err != nil {
		return Result{}, err
	}
	if p.mod == nil {
		if err := p.instantiate(ctx); err != nil {
			return Result{}, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	status, payload, output, err := p.run(cctx, cb, input)
	if err != nil {
		return p.fault(ctx, inv, err)
	}
	res := Result{Status: status, Output: output}
	if status < 0 {
		res.Outcome, res.ErrorType = ptel.OutcomeError, "ptel.guest_status"
		res.Report, _ = inv.End(nil, res.Outcome, res.ErrorType)
		return res, nil
	}
	res.Payload = payload
	if status > 0 {
		res.Outcome, res.ErrorType = ptel.OutcomeError, "plugin.error"
	}
	res.Report, err = inv.End(payload, res.Outcome, res.ErrorType)
	if err != nil && !errors.Is(err, ptel.ErrRejected) {
		return res, err
	}
	return res, nil
}

// Call runs the guest ABI alone, without an invocation (the conformance
// scenarios use it): contextBytes is an encoded PluginContext. It returns
// ptel_guest_invoke's status, the PluginTelemetry bytes and the output. A
// guest fault drops the instance and returns a *Fault.
func (p *Plugin) Call(ctx context.Context, contextBytes, input []byte) (int32, []byte, []byte, error) {
	if p.mod == nil {
		if err := p.instantiate(ctx); err != nil {
			return 0, nil, nil, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	status, payload, output, err := p.run(cctx, contextBytes, input)
	if err != nil {
		_, errorType := faultKind(err)
		p.drop(ctx)
		return 0, nil, nil, &Fault{ErrorType: errorType, Cause: err}
	}
	return status, payload, output, nil
}

// Fault is a guest fault reported by Call.
type Fault struct {
	ErrorType string // error.type: wasm.trap, wasm.timeout, wasm.bad_result
	Cause     error
}

func (f *Fault) Error() string { return f.ErrorType + ": " + f.Cause.Error() }
func (f *Fault) Unwrap() error { return f.Cause }

func (p *Plugin) run(ctx context.Context, cb, input []byte) (int32, []byte, []byte, error) {
	base, err := p.reserve(ctx, uint32(len(cb)+len(input)))
	if err != nil {
		return 0, nil, nil, err
	}
	mem := p.mod.Memory()
	if !mem.Write(base, cb) || !mem.Write(base+uint32(len(cb)), input) {
		return 0, nil, nil, errBadResult
	}
	r, err := p.fn["ptel_guest_invoke"].Call(ctx, uint64(base), uint64(len(cb)),
		uint64(base+uint32(len(cb))), uint64(len(input)))
	if err != nil {
		return 0, nil, nil, err
	}
	status := int32(r[0])
	if status < 0 {
		return status, nil, nil, nil
	}
	payload, err := p.readPair(ctx, "ptel_guest_result")
	if err != nil {
		return 0, nil, nil, err
	}
	output, err := p.readPair(ctx, "ptel_guest_output")
	if err != nil {
		return 0, nil, nil, err
	}
	return status, payload, output, nil
}

// faultKind is the outcome and error.type of a guest fault (PROTOCOL.md,
// "Sandbox faults").
func faultKind(cause error) (ptel.Outcome, string) {
	var exit *sys.ExitError
	switch {
	case errors.As(cause, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		return ptel.OutcomeTimeout, "wasm.timeout"
	case errors.Is(cause, errBadResult):
		return ptel.OutcomeCrash, "wasm.bad_result"
	case strings.HasPrefix(cause.Error(), "wasm error: unreachable"):
		return ptel.OutcomeCrash, "wasm.trap.unreachable" // wazero names traps only in text
	default:
		return ptel.OutcomeCrash, "wasm.trap"
	}
}

func (p *Plugin) drop(ctx context.Context) {
	if p.mod != nil {
		p.mod.Close(ctx)
		p.mod = nil
	}
}

// fault ends inv for a guest that failed, with what it had recorded, and
// drops its instance.
func (p *Plugin) fault(ctx context.Context, inv *ptel.Invocation, cause error) (Result, error) {
	var res Result
	res.Outcome, res.ErrorType = faultKind(cause)
	res.Payload = p.salvage(ctx, res.Outcome == ptel.OutcomeTimeout)
	p.drop(ctx)
	var err error
	res.Report, err = inv.End(res.Payload, res.Outcome, res.ErrorType)
	if err != nil && !errors.Is(err, ptel.ErrRejected) {
		return res, err
	}
	return res, nil
}

// salvage asks a faulted guest for the telemetry of its interrupted
// invocation (ptel_guest_salvage, when exported), with the spans it had
// open listed for inv.End to end with status ERROR. A trap leaves the
// instance callable; the deadline closes it (its WASI state is gone), so
// then its memory is copied into a fresh instance of the module, which
// finishes the same recorder.
// nil when the module lacks the export or the salvage fails too.
func (p *Plugin) salvage(ctx context.Context, timedOut bool) []byte {
	if p.mod == nil || p.fn[salvageExport] == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	if timedOut {
		return p.revived(cctx)
	}
	b, err := p.readPair(cctx, salvageExport)
	if err != nil {
		return nil // the salvage itself failed
	}
	return b
}

// revived runs ptel_guest_salvage on a fresh instance holding the closed
// instance's memory (all the guest's state but its globals: the shadow
// stack pointer starts afresh, which only discards the abandoned frames).
func (p *Plugin) revived(ctx context.Context) []byte {
	old, ok := p.mod.Memory().Read(0, p.mod.Memory().Size())
	if !ok {
		return nil
	}
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, mc)
	if err != nil {
		return nil
	}
	defer mod.Close(ctx)
	mem := mod.Memory()
	if mem == nil || mem.Size() > uint32(len(old)) {
		return nil
	}
	if _, ok := mem.Grow((uint32(len(old)) - mem.Size()) / 65536); !ok || !mem.Write(0, old) {
		return nil
	}
	live, fn := p.mod, p.fn
	p.mod, p.fn = mod, map[string]api.Function{salvageExport: mod.ExportedFunction(salvageExport)}
	b, err := p.readPair(ctx, salvageExport)
	p.mod, p.fn = live, fn
	if err != nil {
		return nil
	}
	return b
}

// MemorySize is the live instance's linear memory in bytes (0 when none).
func (p *Plugin) MemorySize() uint32 {
	if p.mod == nil {
		return 0
	}
	return p.mod.Memory().Size()
}
