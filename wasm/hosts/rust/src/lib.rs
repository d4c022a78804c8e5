//! Run ptel WASM plugins (the guest ABI of PROTOCOL.md, appendix C) with
//! wasmtime under a host [`ptel::Invocation`].
//!
//! The host writes the invocation's PluginContext and the plugin's input
//! into guest memory, calls `ptel_guest_invoke` under a fuel budget and a
//! memory limit, copies the PluginTelemetry bytes out and ends the
//! invocation with them; [`ptel::Invocation::end`] validates them like any
//! payload. The two WASI imports the guest uses (`clock_time_get`,
//! `random_get`) are implemented here, so the guest gets nothing else: any
//! other import traps when called.
//!
//! Guest faults are not errors: a trap, running out of fuel or memory, or a
//! result outside guest memory ends the invocation with outcome crash or
//! timeout, and the next invoke runs on a fresh instance. Before dropping a
//! faulted instance the host asks it for what it had recorded
//! (`ptel_guest_salvage`, when exported): its spans are exported and the
//! spans it had open are ended with status ERROR and the fault's
//! `error.type`.
use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ptel::{Invocation, Outcome, Report};
use wasmtime::{
    Caller, Config, Engine, Extern, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder,
    Trap, TypedFunc,
};

/// The guest ABI version this host implements.
pub const ABI_VERSION: i32 = 1;

/// Limits and mode of a [`WasmPlugin`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Fuel budget of one invocation (about one unit per WASM instruction).
    pub fuel: u64,
    /// Most bytes of linear memory an instance may have.
    pub memory_limit: usize,
    /// The guest's deterministic clock and ids (conformance tests).
    pub deterministic: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fuel: 50_000_000,
            memory_limit: 16 << 20,
            deterministic: false,
        }
    }
}

/// What one [`WasmPlugin::invoke`] did.
#[derive(Debug)]
pub struct WasmResult {
    /// The outcome the invocation was ended with.
    pub outcome: Outcome,
    /// The validation report of `Invocation::end`.
    pub report: Report,
    /// `ptel_guest_invoke`'s return: 0, a plugin error > 0, a PTEL_E_* < 0.
    pub status: i32,
    /// The plugin's functional output.
    pub output: Vec<u8>,
    /// The PluginTelemetry bytes (after a fault: what the salvage returned).
    pub payload: Vec<u8>,
    /// `error.type` of a failed invocation ("" when it succeeded).
    pub error_type: String,
}

/// Why a module could not be used (never a guest fault during an invocation).
#[derive(Debug)]
pub enum HostError {
    /// The module does not implement guest ABI version 1.
    Abi(String),
    /// wasmtime refused the module or its instantiation.
    Wasm(wasmtime::Error),
    /// The ptel binding failed (an invocation already ended).
    Ptel(ptel::Error),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Abi(m) => write!(f, "not a ptel guest ABI v1 module: {m}"),
            HostError::Wasm(e) => write!(f, "wasmtime: {e}"),
            HostError::Ptel(e) => write!(f, "ptel: {e}"),
        }
    }
}

impl std::error::Error for HostError {}

struct State {
    limits: StoreLimits,
    origin: Instant,
    rng: u64,
}

struct Live {
    store: Store<State>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    invoke: TypedFunc<(u32, u32, u32, u32), i32>,
    result: TypedFunc<(u32, u32), i32>,
    output: TypedFunc<(u32, u32), i32>,
    salvage: Option<TypedFunc<(u32, u32), i32>>,
    scratch: u32,
    buf: u32,
    cap: u32,
}

/// One plugin module with one live instance (plugins may keep state between
/// invocations; a fault replaces the instance). One invocation at a time.
pub struct WasmPlugin {
    engine: Engine,
    module: Module,
    linker: Linker<State>,
    opts: Options,
    live: Option<Live>,
}

enum Fault {
    Trap(wasmtime::Error),
    BadResult,
}

impl From<wasmtime::Error> for Fault {
    fn from(e: wasmtime::Error) -> Self {
        Fault::Trap(e)
    }
}

const WASI_EINVAL: i32 = 28;
const WASI_EFAULT: i32 = 21;

fn guest_memory(caller: &mut Caller<'_, State>) -> Option<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Some(m),
        _ => None,
    }
}

/// splitmix64: the seed stream behind `random_get` (ids need uniqueness, not
/// secrecy; the state starts from the process's hash seed and the clock).
fn next_random(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

fn wasi(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "clock_time_get",
        |mut caller: Caller<'_, State>, id: i32, _precision: i64, out: i32| -> i32 {
            let now = match id {
                0 => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
                1 => caller.data().origin.elapsed().as_nanos(),
                _ => return WASI_EINVAL,
            } as u64;
            let Some(mem) = guest_memory(&mut caller) else {
                return WASI_EFAULT;
            };
            match mem.write(&mut caller, out as u32 as usize, &now.to_le_bytes()) {
                Ok(()) => 0,
                Err(_) => WASI_EFAULT,
            }
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "random_get",
        |mut caller: Caller<'_, State>, buf: i32, len: i32| -> i32 {
            let Some(mem) = guest_memory(&mut caller) else {
                return WASI_EFAULT;
            };
            let (start, len) = (buf as u32 as usize, len as u32 as usize);
            let mut bytes = vec![0u8; len];
            for chunk in bytes.chunks_mut(8) {
                let v = next_random(&mut caller.data_mut().rng).to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            match mem.write(&mut caller, start, &bytes) {
                Ok(()) => 0,
                Err(_) => WASI_EFAULT,
            }
        },
    )?;
    Ok(())
}

impl WasmPlugin {
    /// Compile `wasm` and instantiate it once.
    pub fn new(wasm: &[u8], opts: Options) -> Result<Self, HostError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(HostError::Wasm)?;
        let module = Module::new(&engine, wasm).map_err(HostError::Wasm)?;
        let mut linker = Linker::new(&engine);
        wasi(&mut linker).map_err(HostError::Wasm)?;
        // Other imports (WASI files and streams that a libc links in but a
        // plugin never needs) link, and trap if called: the sandbox gives
        // nothing else.
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(HostError::Wasm)?;
        let mut p = WasmPlugin {
            engine,
            module,
            linker,
            opts,
            live: None,
        };
        p.live = Some(p.instantiate()?);
        Ok(p)
    }

    fn instantiate(&self) -> Result<Live, HostError> {
        let state = State {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.opts.memory_limit)
                .build(),
            origin: Instant::now(),
            rng: seed(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_fuel(self.opts.fuel).map_err(HostError::Wasm)?;
        let inst = self
            .linker
            .instantiate(&mut store, &self.module)
            .map_err(HostError::Wasm)?;
        let abi = |e: wasmtime::Error| HostError::Abi(e.to_string());
        let memory = inst
            .get_memory(&mut store, "memory")
            .ok_or_else(|| HostError::Abi("missing export memory".into()))?;
        if let Ok(init) = inst.get_typed_func::<(), ()>(&mut store, "_initialize") {
            init.call(&mut store, ()).map_err(HostError::Wasm)?;
        }
        let version = inst
            .get_typed_func::<(), i32>(&mut store, "ptel_guest_abi_version")
            .map_err(abi)?
            .call(&mut store, ())
            .map_err(HostError::Wasm)?;
        if version != ABI_VERSION {
            return Err(HostError::Abi(format!("guest ABI version {version}")));
        }
        let configure = inst
            .get_typed_func::<u32, i32>(&mut store, "ptel_guest_configure")
            .map_err(abi)?;
        let alloc = inst
            .get_typed_func(&mut store, "ptel_guest_alloc")
            .map_err(abi)?;
        let free = inst
            .get_typed_func(&mut store, "ptel_guest_free")
            .map_err(abi)?;
        let invoke = inst
            .get_typed_func(&mut store, "ptel_guest_invoke")
            .map_err(abi)?;
        let result = inst
            .get_typed_func(&mut store, "ptel_guest_result")
            .map_err(abi)?;
        let output = inst
            .get_typed_func(&mut store, "ptel_guest_output")
            .map_err(abi)?;
        // Optional in ABI version 1.
        let salvage = inst.get_typed_func(&mut store, "ptel_guest_salvage").ok();
        let flags = u32::from(self.opts.deterministic);
        if configure.call(&mut store, flags).map_err(HostError::Wasm)? != 0 {
            return Err(HostError::Abi(
                "ptel_guest_configure refused the flags".into(),
            ));
        }
        let scratch = alloc.call(&mut store, 8).map_err(HostError::Wasm)?;
        if scratch == 0 {
            return Err(HostError::Abi("ptel_guest_alloc failed".into()));
        }
        Ok(Live {
            store,
            memory,
            alloc,
            free,
            invoke,
            result,
            output,
            salvage,
            scratch,
            buf: 0,
            cap: 0,
        })
    }

    /// Bytes of linear memory of the live instance (0 when none).
    pub fn memory_size(&self) -> usize {
        self.live
            .as_ref()
            .map_or(0, |l| l.memory.data_size(&l.store))
    }

    /// Run the plugin for `inv` with `input` and end `inv` with its
    /// telemetry. Guest faults are reported in the result, not as errors.
    pub fn invoke(&mut self, inv: &mut Invocation, input: &[u8]) -> Result<WasmResult, HostError> {
        let ctx = inv.context().encode();
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        let fuel = self.opts.fuel;
        let live = self.live.as_mut().expect("instantiated");
        let run = live.run(fuel, &ctx, input);
        let end = |inv: &mut Invocation, payload: Vec<u8>, outcome: Outcome, et: &str| {
            inv.end(payload, outcome, et).map_err(HostError::Ptel)
        };
        match run {
            Ok((status, _, _)) if status < 0 => {
                let et = "ptel.guest_status";
                let report = end(inv, Vec::new(), Outcome::Error, et)?;
                Ok(WasmResult {
                    outcome: Outcome::Error,
                    report,
                    status,
                    output: Vec::new(),
                    payload: Vec::new(),
                    error_type: et.into(),
                })
            }
            Ok((status, payload, output)) => {
                let (outcome, et) = if status == 0 {
                    (Outcome::Ok, "")
                } else {
                    (Outcome::Error, "plugin.error")
                };
                let report = end(inv, payload.clone(), outcome, et)?;
                Ok(WasmResult {
                    outcome,
                    report,
                    status,
                    output,
                    payload,
                    error_type: et.into(),
                })
            }
            Err(fault) => {
                let payload = self.live.take().map_or_else(Vec::new, |l| l.salvaged(fuel));
                let (outcome, et) = fault.kind();
                let report = end(inv, payload.clone(), outcome, &et)?;
                Ok(WasmResult {
                    outcome,
                    report,
                    status: 0,
                    output: Vec::new(),
                    payload,
                    error_type: et,
                })
            }
        }
    }

    /// The guest ABI alone, without an invocation (the conformance
    /// scenarios use it): `ctx` is an encoded PluginContext. A guest fault
    /// drops the instance and is [`Called::Fault`].
    pub fn call(&mut self, ctx: &[u8], input: &[u8]) -> Result<Called, HostError> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        let fuel = self.opts.fuel;
        let live = self.live.as_mut().expect("instantiated");
        match live.run(fuel, ctx, input) {
            Ok((status, payload, output)) => Ok(Called::Done {
                status,
                payload,
                output,
            }),
            Err(fault) => {
                self.live = None;
                Ok(Called::Fault {
                    error_type: fault.kind().1,
                })
            }
        }
    }
}

/// What one [`WasmPlugin::call`] did.
#[derive(Debug)]
pub enum Called {
    /// `ptel_guest_invoke` returned `status`; `payload` and `output` are
    /// empty when it is negative.
    Done {
        /// 0, a plugin error > 0, a PTEL_E_* < 0.
        status: i32,
        /// The PluginTelemetry bytes.
        payload: Vec<u8>,
        /// The plugin's functional output.
        output: Vec<u8>,
    },
    /// The guest faulted; `error_type` as in PROTOCOL.md, "Sandbox faults".
    Fault {
        /// `wasm.trap.*`, `wasm.out_of_fuel` or `wasm.bad_result`.
        error_type: String,
    },
}

impl Fault {
    /// The outcome and `error.type` of the fault.
    fn kind(&self) -> (Outcome, String) {
        match self {
            Fault::BadResult => (Outcome::Crash, "wasm.bad_result".into()),
            Fault::Trap(e) => match e.downcast_ref::<Trap>() {
                Some(Trap::OutOfFuel) => (Outcome::Timeout, "wasm.out_of_fuel".into()),
                Some(Trap::UnreachableCodeReached) => {
                    (Outcome::Crash, "wasm.trap.unreachable".into())
                }
                _ => (Outcome::Crash, "wasm.trap".into()),
            },
        }
    }
}

impl Live {
    fn read(&self, ptr: u32, len: u32) -> Result<Vec<u8>, Fault> {
        let data = self.memory.data(&self.store);
        let (start, end) = (ptr as usize, ptr as usize + len as usize);
        data.get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or(Fault::BadResult)
    }

    fn pair(&mut self, f: TypedFunc<(u32, u32), i32>) -> Result<Vec<u8>, Fault> {
        if f.call(&mut self.store, (self.scratch, self.scratch + 4))? != 0 {
            return Err(Fault::BadResult);
        }
        let p = self.read(self.scratch, 8)?;
        let ptr = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let len = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        self.read(ptr, len)
    }

    /// The faulted invocation's telemetry from `ptel_guest_salvage` (its
    /// open spans listed, for `Invocation::end` to end with ERROR), under a
    /// fresh fuel budget; empty when the module lacks the export or the
    /// salvage fails too.
    fn salvaged(mut self, fuel: u64) -> Vec<u8> {
        let Some(f) = self.salvage.clone() else {
            return Vec::new();
        };
        if self.store.set_fuel(fuel).is_err() {
            return Vec::new();
        }
        self.pair(f).unwrap_or_default()
    }

    fn run(
        &mut self,
        fuel: u64,
        ctx: &[u8],
        input: &[u8],
    ) -> Result<(i32, Vec<u8>, Vec<u8>), Fault> {
        self.store.set_fuel(fuel)?;
        let need = u32::try_from(ctx.len() + input.len()).map_err(|_| Fault::BadResult)?;
        if need > self.cap || self.buf == 0 {
            if self.buf != 0 {
                self.free.call(&mut self.store, (self.buf, self.cap))?;
                self.buf = 0;
            }
            let cap = need.max(256);
            self.buf = self.alloc.call(&mut self.store, cap)?;
            self.cap = cap;
            if self.buf == 0 {
                return Err(Fault::BadResult);
            }
        }
        let base = self.buf;
        let data = self.memory.data_mut(&mut self.store);
        let at = base as usize;
        let dst = data
            .get_mut(at..at + ctx.len() + input.len())
            .ok_or(Fault::BadResult)?;
        dst[..ctx.len()].copy_from_slice(ctx);
        dst[ctx.len()..].copy_from_slice(input);
        let clen = ctx.len() as u32;
        let status = self.invoke.call(
            &mut self.store,
            (base, clen, base + clen, input.len() as u32),
        )?;
        if status < 0 {
            return Ok((status, Vec::new(), Vec::new()));
        }
        let payload = self.pair(self.result.clone())?;
        let output = self.pair(self.output.clone())?;
        Ok((status, payload, output))
    }
}
