//! Compiles the ptel C core (its unity file `core/src/ptel.c`) with `cc`.
//!
//! Where the core comes from, in order:
//! 1. `PTEL_CORE_DIR`, when set (a directory holding `include/` and `src/`);
//! 2. the repository's `core/`, when this crate is `bindings/rust/ptel-sys`
//!    of a ptel checkout (checked by path, so a stray `../../../core` next to
//!    an unpacked crate is never picked up);
//! 3. the copy inside the crate, `core/`, which `vendor-core.sh` writes before
//!    `cargo package` (gitignored; `vendor-core.sh --check` verifies it).
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn repo_core(manifest: &Path) -> Option<PathBuf> {
    let root = manifest.join("../../..");
    let this = root.join("bindings/rust/ptel-sys").canonicalize().ok()?;
    if this != manifest.canonicalize().ok()? {
        return None;
    }
    let core = root.join("core").canonicalize().ok()?;
    core.join("src/ptel.c").is_file().then_some(core)
}

fn find_core(manifest: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=PTEL_CORE_DIR");
    if let Some(dir) = env::var_os("PTEL_CORE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(core) = repo_core(manifest) {
        return core;
    }
    let vendored = manifest.join("core");
    if vendored.join("src/ptel.c").is_file() {
        return vendored;
    }
    panic!(
        "ptel-sys: the C core was not found: neither {} (a ptel checkout) nor {} \
         (a packaged crate; run vendor-core.sh) holds src/ptel.c; or set PTEL_CORE_DIR",
        manifest.join("../../../core").display(),
        vendored.display()
    );
}

fn watch_dir(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let core = find_core(&manifest);
    let include = core.join("include");
    let src = core.join("src");
    watch_dir(&src);
    watch_dir(&include.join("ptel"));

    let mut build = cc::Build::new();
    build
        .file(src.join("ptel.c"))
        .include(&include)
        .include(&src)
        .define("_GNU_SOURCE", None)
        .std("c11")
        .warnings(true)
        .flag_if_supported("-fvisibility=hidden");
    build.compile("ptel");

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-lib=pthread");
    }
    // For dependents (DEP_PTEL_INCLUDE / DEP_PTEL_ROOT), e.g. C shims of their own.
    println!("cargo:include={}", include.display());
    println!("cargo:root={}", core.display());
}
