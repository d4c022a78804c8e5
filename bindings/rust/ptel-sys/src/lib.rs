//! Raw FFI bindings to the ptel C core (plugin telemetry protocol).
//!
//! The declarations in this crate are generated from the public C header
//! (`core/include/ptel/ptel.h`) by `codegen/render_rust.py` (`make generate`)
//! and committed; layout tests check every `#[repr(C)]` struct against the
//! sizes and offsets the C compiler measured. The build script compiles the
//! core's unity file `core/src/ptel.c` with the `cc` crate, so depending on
//! this crate needs nothing but a C compiler.
//!
//! Everything here is `unsafe` and follows the C contract documented on each
//! item (copied from the header). Use the safe `ptel` crate instead unless
//! you are writing a binding.
//!
//! ```
//! use std::ffi::CStr;
//! // SAFETY: ptel_version returns a static NUL-terminated string.
//! let v = unsafe { CStr::from_ptr(ptel_sys::ptel_version()) };
//! assert_eq!(v.to_str().unwrap(), "0.1.0");
//! ```
#![no_std]
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(
    clippy::missing_safety_doc,
    clippy::doc_lazy_continuation,
    clippy::too_long_first_doc_paragraph
)]
#![allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]

#[cfg(test)]
extern crate std;

#[rustfmt::skip]
mod bindings;
pub use bindings::*;

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn status_table_matches_the_library() {
        for &(name, value, msg) in PTEL_STATUS_TABLE {
            // SAFETY: both functions return static NUL-terminated strings.
            let (n, m) = unsafe {
                (
                    CStr::from_ptr(ptel_status_name(value)),
                    CStr::from_ptr(ptel_strerror(value)),
                )
            };
            assert_eq!(n.to_str().unwrap(), name);
            assert_eq!(m.to_str().unwrap(), msg);
        }
        assert_eq!(PTEL_STATUS_TABLE.len(), 23);
    }

    #[test]
    fn limits_init_writes_the_defaults() {
        let mut l = ptel_limits::default();
        // SAFETY: l is a valid, writable ptel_limits.
        unsafe { ptel_limits_init(&mut l) };
        assert_eq!(l.attribute_count, 128);
        assert_eq!(l.span_count, 1024);
        assert_eq!(l.payload_bytes, 4 << 20);
    }
}
