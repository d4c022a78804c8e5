//! Errors: a C status code plus the optional diagnostics (`ptel_diag`).

use core::ffi::{CStr, c_int};
use core::fmt;

use ptel_sys as sys;

/// What went wrong, one variant per status code of the C core
/// (`PTEL_STATUS_MAP`; the codes are pinned forever).
///
/// ```
/// use ptel::{Context, ErrorKind};
/// let err = Context::from_w3c("00-bad", "", "").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Traceparent);
/// assert_eq!(err.kind().code(), -10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `PTEL_E_INVALID_ARGUMENT`
    InvalidArgument,
    /// `PTEL_E_NOMEM`
    NoMem,
    /// `PTEL_E_BUFFER_TOO_SMALL`
    BufferTooSmall,
    /// `PTEL_E_STATE`
    State,
    /// `PTEL_E_LIMIT`
    Limit,
    /// `PTEL_E_TRUNCATED`
    Truncated,
    /// `PTEL_E_MALFORMED`
    Malformed,
    /// `PTEL_E_DEPTH`
    Depth,
    /// `PTEL_E_UTF8`
    Utf8,
    /// `PTEL_E_TRACEPARENT`
    Traceparent,
    /// `PTEL_E_TRACESTATE`
    Tracestate,
    /// `PTEL_E_BAGGAGE`
    Baggage,
    /// `PTEL_E_VERSION`
    Version,
    /// `PTEL_E_INVALID_ID`
    InvalidId,
    /// `PTEL_E_NAME`
    Name,
    /// `PTEL_E_CONFLICT`
    Conflict,
    /// `PTEL_E_NOT_FOUND`
    NotFound,
    /// `PTEL_E_REJECTED`
    Rejected,
    /// `PTEL_E_IO`
    Io,
    /// `PTEL_E_VALUE`
    Value,
    /// `PTEL_E_UNSUPPORTED`
    Unsupported,
    /// `PTEL_E_TIMEOUT`
    Timeout,
    /// A status this version of the binding does not know.
    Unknown(i32),
}

impl ErrorKind {
    /// The kind of a C status code (never called with 0 by this crate).
    ///
    /// ```
    /// use ptel::ErrorKind;
    /// assert_eq!(ErrorKind::from_code(-2), ErrorKind::NoMem);
    /// assert_eq!(ErrorKind::from_code(-999), ErrorKind::Unknown(-999));
    /// ```
    pub fn from_code(code: i32) -> ErrorKind {
        use ErrorKind::*;
        match code {
            sys::PTEL_E_INVALID_ARGUMENT => InvalidArgument,
            sys::PTEL_E_NOMEM => NoMem,
            sys::PTEL_E_BUFFER_TOO_SMALL => BufferTooSmall,
            sys::PTEL_E_STATE => State,
            sys::PTEL_E_LIMIT => Limit,
            sys::PTEL_E_TRUNCATED => Truncated,
            sys::PTEL_E_MALFORMED => Malformed,
            sys::PTEL_E_DEPTH => Depth,
            sys::PTEL_E_UTF8 => Utf8,
            sys::PTEL_E_TRACEPARENT => Traceparent,
            sys::PTEL_E_TRACESTATE => Tracestate,
            sys::PTEL_E_BAGGAGE => Baggage,
            sys::PTEL_E_VERSION => Version,
            sys::PTEL_E_INVALID_ID => InvalidId,
            sys::PTEL_E_NAME => Name,
            sys::PTEL_E_CONFLICT => Conflict,
            sys::PTEL_E_NOT_FOUND => NotFound,
            sys::PTEL_E_REJECTED => Rejected,
            sys::PTEL_E_IO => Io,
            sys::PTEL_E_VALUE => Value,
            sys::PTEL_E_UNSUPPORTED => Unsupported,
            sys::PTEL_E_TIMEOUT => Timeout,
            other => Unknown(other),
        }
    }

    /// The C status code.
    ///
    /// ```
    /// assert_eq!(ptel::ErrorKind::Utf8.code(), -9);
    /// ```
    pub fn code(self) -> i32 {
        use ErrorKind::*;
        match self {
            InvalidArgument => sys::PTEL_E_INVALID_ARGUMENT,
            NoMem => sys::PTEL_E_NOMEM,
            BufferTooSmall => sys::PTEL_E_BUFFER_TOO_SMALL,
            State => sys::PTEL_E_STATE,
            Limit => sys::PTEL_E_LIMIT,
            Truncated => sys::PTEL_E_TRUNCATED,
            Malformed => sys::PTEL_E_MALFORMED,
            Depth => sys::PTEL_E_DEPTH,
            Utf8 => sys::PTEL_E_UTF8,
            Traceparent => sys::PTEL_E_TRACEPARENT,
            Tracestate => sys::PTEL_E_TRACESTATE,
            Baggage => sys::PTEL_E_BAGGAGE,
            Version => sys::PTEL_E_VERSION,
            InvalidId => sys::PTEL_E_INVALID_ID,
            Name => sys::PTEL_E_NAME,
            Conflict => sys::PTEL_E_CONFLICT,
            NotFound => sys::PTEL_E_NOT_FOUND,
            Rejected => sys::PTEL_E_REJECTED,
            Io => sys::PTEL_E_IO,
            Value => sys::PTEL_E_VALUE,
            Unsupported => sys::PTEL_E_UNSUPPORTED,
            Timeout => sys::PTEL_E_TIMEOUT,
            Unknown(code) => code,
        }
    }

    /// The symbolic name of the status without the `PTEL_` prefix.
    ///
    /// ```
    /// assert_eq!(ptel::ErrorKind::NoMem.name(), "E_NOMEM");
    /// ```
    pub fn name(self) -> &'static str {
        // SAFETY: ptel_status_name returns a static NUL-terminated string.
        static_str(unsafe { sys::ptel_status_name(self.code()) })
    }

    /// The English message of the status.
    ///
    /// ```
    /// assert_eq!(ptel::ErrorKind::NoMem.message(), "out of memory");
    /// ```
    pub fn message(self) -> &'static str {
        // SAFETY: ptel_strerror returns a static NUL-terminated string.
        static_str(unsafe { sys::ptel_strerror(self.code()) })
    }
}

pub(crate) fn static_str(p: *const core::ffi::c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // SAFETY: the C core only hands out static, NUL-terminated ASCII strings here.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// An error from the C core: its status code and, where the function reports
/// them, the protobuf field, the byte offset into the input and a reason.
///
/// ```
/// use ptel::{Context, ErrorKind};
/// let err = Context::decode(&[0x08, 0x02]).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Version);
/// assert_eq!(err.field(), 1);
/// println!("{err}"); // "unsupported protocol version: ... (field 1, offset 0)"
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    field: u32,
    offset: u64,
    reason: Option<&'static str>,
}

/// `Result` with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// An error of `kind` without diagnostics.
    ///
    /// ```
    /// let e = ptel::Error::new(ptel::ErrorKind::State);
    /// assert_eq!(e.reason(), None);
    /// ```
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            field: 0,
            offset: 0,
            reason: None,
        }
    }

    pub(crate) fn from_code(code: c_int) -> Error {
        Error::new(ErrorKind::from_code(code))
    }

    pub(crate) fn from_diag(code: c_int, diag: &sys::ptel_diag) -> Error {
        // A function that failed without filling diag leaves it zeroed.
        let filled = diag.status == code;
        Error {
            kind: ErrorKind::from_code(code),
            field: if filled { diag.field } else { 0 },
            offset: if filled { diag.offset } else { 0 },
            reason: if filled && !diag.reason.is_null() {
                Some(static_str(diag.reason))
            } else {
                None
            },
        }
    }

    /// What went wrong.
    ///
    /// ```
    /// let e = ptel::Error::new(ptel::ErrorKind::State);
    /// assert_eq!(e.kind(), ptel::ErrorKind::State);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The C status code (negative).
    ///
    /// ```
    /// assert_eq!(ptel::Error::new(ptel::ErrorKind::State).code(), -4);
    /// ```
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// The protobuf field number involved, or 0.
    ///
    /// ```
    /// let e = ptel::Context::decode(&[0x08, 0x01]).unwrap_err();
    /// assert_eq!(e.field(), 2); // the trace id is missing
    /// ```
    pub fn field(&self) -> u32 {
        self.field
    }

    /// The byte offset into the input where the problem was found, or 0.
    ///
    /// ```
    /// let e = ptel::w3c::Traceparent::parse("00-zz").unwrap_err();
    /// assert_eq!(e.offset(), 3);
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The core's English reason, when it gave one.
    ///
    /// ```
    /// let e = ptel::w3c::Traceparent::parse("").unwrap_err();
    /// assert!(e.reason().is_some());
    /// ```
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.message())?;
        if let Some(r) = self.reason {
            write!(f, ": {r}")?;
        }
        if self.field != 0 || self.offset != 0 {
            write!(f, " (field {}, offset {})", self.field, self.offset)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}

/// 0 → Ok, else the error without diagnostics.
#[inline]
pub(crate) fn check(code: c_int) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(Error::from_code(code))
    }
}

/// 0 → Ok, else the error with the diagnostics the call filled.
#[inline]
pub(crate) fn check_diag(code: c_int, diag: &sys::ptel_diag) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(Error::from_diag(code, diag))
    }
}
