//! W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage headers:
//! parsing, validation, canonical formatting and iteration, as the core
//! does them.

use ptel_sys as sys;

use crate::error::{Error, ErrorKind, Result, check_diag};

/// A parsed `traceparent` value.
///
/// ```
/// let tp = ptel::w3c::Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
/// assert_eq!(tp.trace_flags, 1);
/// assert_eq!(tp.format(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Traceparent {
    /// The version as received (formatting always writes 00).
    pub version: u8,
    /// Never all zero after a successful parse.
    pub trace_id: [u8; 16],
    /// Never all zero after a successful parse.
    pub parent_id: [u8; 8],
    /// All 8 bits as received.
    pub trace_flags: u8,
}

impl Traceparent {
    /// Parse a `traceparent` value (W3C Trace Context Level 2; optional
    /// surrounding spaces and tabs; future versions by the forward-compatible
    /// rule). Errors are [`ErrorKind::Traceparent`] with the byte offset.
    ///
    /// ```
    /// let err = ptel::w3c::Traceparent::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").unwrap_err();
    /// assert_eq!(err.kind(), ptel::ErrorKind::Traceparent);
    /// ```
    pub fn parse(s: &str) -> Result<Traceparent> {
        let mut out = sys::ptel_traceparent::default();
        let mut diag = sys::ptel_diag::default();
        // SAFETY: s is valid for the call; out and diag are writable.
        let rc =
            unsafe { sys::ptel_traceparent_parse(&mut out, s.as_ptr().cast(), s.len(), &mut diag) };
        check_diag(rc, &diag)?;
        Ok(Traceparent {
            version: out.version,
            trace_id: out.trace_id,
            parent_id: out.parent_id,
            trace_flags: out.trace_flags,
        })
    }

    /// Format as version 00 (55 characters); only the sampled and random
    /// flags are written.
    ///
    /// ```
    /// let tp = ptel::w3c::Traceparent { version: 7, trace_id: [1; 16], parent_id: [2; 8], trace_flags: 0xff };
    /// assert_eq!(tp.format(), "00-01010101010101010101010101010101-0202020202020202-03");
    /// ```
    pub fn format(&self) -> String {
        let c = sys::ptel_traceparent {
            version: self.version,
            trace_id: self.trace_id,
            parent_id: self.parent_id,
            trace_flags: self.trace_flags,
        };
        let mut buf = [0u8; 64];
        let mut len = 0usize;
        // SAFETY: buf has 64 writable bytes (56 needed); c and len are valid.
        let rc = unsafe {
            sys::ptel_traceparent_format(buf.as_mut_ptr().cast(), buf.len(), &mut len, &c)
        };
        if rc != 0 {
            return String::new();
        }
        String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned()
    }
}

/// Run a text-producing C function with a size query (it writes a NUL).
fn text(
    mut f: impl FnMut(
        *mut core::ffi::c_char,
        usize,
        &mut usize,
        &mut sys::ptel_diag,
    ) -> core::ffi::c_int,
) -> Result<String> {
    let mut diag = sys::ptel_diag::default();
    let mut len = 0usize;
    let rc = f(core::ptr::null_mut(), 0, &mut len, &mut diag);
    if rc != 0 && rc != sys::PTEL_E_BUFFER_TOO_SMALL {
        return Err(Error::from_diag(rc, &diag));
    }
    let mut buf = vec![0u8; len + 1];
    let rc = f(buf.as_mut_ptr().cast(), buf.len(), &mut len, &mut diag);
    check_diag(rc, &diag)?;
    buf.truncate(len);
    String::from_utf8(buf).map_err(|_| Error::new(ErrorKind::Utf8))
}

/// Validate a `tracestate` value and return its canonical form (no
/// whitespace, duplicates and empty members removed, at most 512
/// characters). An invalid header is [`ErrorKind::Tracestate`].
///
/// ```
/// assert_eq!(ptel::w3c::normalize_tracestate(" a=1 ,, b=2,a=3")?, "a=1,b=2");
/// assert!(ptel::w3c::normalize_tracestate("A=1").is_err());
/// # Ok::<(), ptel::Error>(())
/// ```
pub fn normalize_tracestate(s: &str) -> Result<String> {
    // SAFETY: s is valid for each call; the buffer and outputs are writable.
    text(|buf, cap, len, diag| unsafe {
        sys::ptel_tracestate_normalize(buf, cap, len, s.as_ptr().cast(), s.len(), diag)
    })
}

fn str_of<'a>(s: &sys::ptel_str, _owner: &'a str) -> &'a str {
    if s.ptr.is_null() || s.len == 0 {
        return "";
    }
    // SAFETY: the core returns sub-slices of `_owner`, which lives for 'a.
    let bytes = unsafe { core::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
    core::str::from_utf8(bytes).unwrap_or("")
}

/// The members of a normalised tracestate as (key, value) pairs.
///
/// ```
/// assert_eq!(ptel::w3c::tracestate_members("a=1,b=2"), vec![("a", "1"), ("b", "2")]);
/// ```
pub fn tracestate_members(ts: &str) -> Vec<(&str, &str)> {
    // SAFETY: ts is valid for the call.
    let n = unsafe { sys::ptel_tracestate_count(ts.as_ptr().cast(), ts.len()) };
    (0..n)
        .filter_map(|i| {
            let (mut k, mut v) = (sys::ptel_str::default(), sys::ptel_str::default());
            // SAFETY: ts is valid; k and v are writable.
            let rc = unsafe {
                sys::ptel_tracestate_member(&mut k, &mut v, ts.as_ptr().cast(), ts.len(), i)
            };
            (rc == 0).then(|| (str_of(&k, ts), str_of(&v, ts)))
        })
        .collect()
}

/// The value of `key` in a normalised tracestate.
///
/// ```
/// assert_eq!(ptel::w3c::tracestate_get("a=1,b=2", "b"), Some("2"));
/// assert_eq!(ptel::w3c::tracestate_get("a=1", "c"), None);
/// ```
pub fn tracestate_get<'a>(ts: &'a str, key: &str) -> Option<&'a str> {
    let mut v = sys::ptel_str::default();
    // SAFETY: the strings are valid for the call; v is writable.
    let rc = unsafe {
        sys::ptel_tracestate_get(
            &mut v,
            ts.as_ptr().cast(),
            ts.len(),
            key.as_ptr().cast(),
            key.len(),
        )
    };
    (rc == 0).then(|| str_of(&v, ts))
}

/// Validate a `baggage` value and return its canonical form (whitespace
/// and empty members removed; at most 64 members and 8192 bytes, whole
/// members dropped from the right). An invalid header is
/// [`ErrorKind::Baggage`].
///
/// ```
/// assert_eq!(ptel::w3c::normalize_baggage("a = 1 ; p , b=2")?, "a=1;p,b=2");
/// assert!(ptel::w3c::normalize_baggage("a=\"quoted\"").is_err());
/// # Ok::<(), ptel::Error>(())
/// ```
pub fn normalize_baggage(s: &str) -> Result<String> {
    // SAFETY: as in normalize_tracestate.
    text(|buf, cap, len, diag| unsafe {
        sys::ptel_baggage_normalize(buf, cap, len, s.as_ptr().cast(), s.len(), diag)
    })
}

/// One member of a normalised baggage string.
///
/// ```
/// let m = &ptel::w3c::baggage_members("k=v%20x;p=1")[0];
/// assert_eq!((m.key, m.value, m.properties), ("k", "v%20x", "p=1"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaggageMember<'a> {
    /// The key.
    pub key: &'a str,
    /// The raw (still percent-encoded) value; see [`decode_baggage_value`].
    pub value: &'a str,
    /// Everything after the first `;` (see [`baggage_properties`]).
    pub properties: &'a str,
}

/// The members of a normalised baggage string, in order (duplicates kept).
///
/// ```
/// let ms = ptel::w3c::baggage_members("a=1,a=2");
/// assert_eq!(ms.len(), 2);
/// ```
pub fn baggage_members(bg: &str) -> Vec<BaggageMember<'_>> {
    // SAFETY: bg is valid for the call.
    let n = unsafe { sys::ptel_baggage_count(bg.as_ptr().cast(), bg.len()) };
    (0..n)
        .filter_map(|i| {
            let (mut k, mut v, mut p) = (
                sys::ptel_str::default(),
                sys::ptel_str::default(),
                sys::ptel_str::default(),
            );
            // SAFETY: bg is valid; the outputs are writable.
            let rc = unsafe {
                sys::ptel_baggage_member(&mut k, &mut v, &mut p, bg.as_ptr().cast(), bg.len(), i)
            };
            (rc == 0).then(|| BaggageMember {
                key: str_of(&k, bg),
                value: str_of(&v, bg),
                properties: str_of(&p, bg),
            })
        })
        .collect()
}

/// The properties of a baggage member as (key, value) pairs; `None` for a
/// property written without `=`.
///
/// ```
/// assert_eq!(ptel::w3c::baggage_properties("pii;ttl=5"), vec![("pii", None), ("ttl", Some("5"))]);
/// ```
pub fn baggage_properties(props: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    for i in 0.. {
        let (mut k, mut v) = (sys::ptel_str::default(), sys::ptel_str::default());
        // SAFETY: props is valid; k and v are writable.
        let rc = unsafe {
            sys::ptel_baggage_property(&mut k, &mut v, props.as_ptr().cast(), props.len(), i)
        };
        if rc != 0 {
            break;
        }
        let value = (!v.ptr.is_null()).then(|| str_of(&v, props));
        out.push((str_of(&k, props), value));
    }
    out
}

/// Percent-decode a baggage value (ill-formed UTF-8 becomes U+FFFD).
/// A `%` not followed by two hex digits is [`ErrorKind::Baggage`].
///
/// ```
/// assert_eq!(ptel::w3c::decode_baggage_value("caf%C3%A9+x")?, "café+x");
/// assert!(ptel::w3c::decode_baggage_value("%zz").is_err());
/// # Ok::<(), ptel::Error>(())
/// ```
pub fn decode_baggage_value(value: &str) -> Result<String> {
    // SAFETY: as in normalize_tracestate.
    text(|buf, cap, len, diag| unsafe {
        sys::ptel_baggage_decode_value(buf, cap, len, value.as_ptr().cast(), value.len(), diag)
    })
}

/// Percent-encode bytes as a baggage value.
///
/// ```
/// assert_eq!(ptel::w3c::encode_baggage_value("a b,c%"), "a%20b%2Cc%25");
/// ```
pub fn encode_baggage_value(value: &str) -> String {
    // SAFETY: as in normalize_tracestate (this function takes no diag).
    text(|buf, cap, len, _diag| unsafe {
        sys::ptel_baggage_encode_value(buf, cap, len, value.as_ptr().cast(), value.len())
    })
    .unwrap_or_default()
}
