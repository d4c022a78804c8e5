//! Typed attribute values and their lowering to the C `ptel_attr` arrays.

use core::mem::MaybeUninit;

use ptel_sys as sys;

/// An attribute value: the OTLP `AnyValue` members, borrowing its data.
///
/// Everything converts with `From`/`Into` (see [`KeyValue::new`]): `&str`,
/// `&String`, `bool`, the integer types up to `i64` (and `u64`, saturating at
/// `i64::MAX`), `f32`/`f64`, `&[u8]` (bytes), slices of `&str`, `i64`, `f64`,
/// `bool` and `AttrValue` (arrays) and `&[KeyValue]` (maps).
///
/// ```
/// use ptel::{AttrValue, KeyValue};
/// assert_eq!(AttrValue::from("x"), AttrValue::Str("x"));
/// assert_eq!(AttrValue::from(3), AttrValue::Int(3));
/// assert_eq!(AttrValue::from(&b"\x00\x01"[..]), AttrValue::Bytes(&[0, 1]));
/// let inner = [KeyValue::new("k", true)];
/// let map = AttrValue::from(&inner[..]);
/// assert!(matches!(map, AttrValue::Map(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrValue<'a> {
    /// An `AnyValue` with no member set.
    Empty,
    /// `string_value` (UTF-8).
    Str(&'a str),
    /// `bool_value`.
    Bool(bool),
    /// `int_value`.
    Int(i64),
    /// `double_value` (NaN and infinities allowed).
    Double(f64),
    /// `bytes_value`.
    Bytes(&'a [u8]),
    /// `array_value` of mixed values.
    Array(&'a [AttrValue<'a>]),
    /// `array_value` of strings.
    StrArray(&'a [&'a str]),
    /// `array_value` of integers.
    IntArray(&'a [i64]),
    /// `array_value` of doubles.
    DoubleArray(&'a [f64]),
    /// `array_value` of booleans.
    BoolArray(&'a [bool]),
    /// `kvlist_value`: an ordered map.
    Map(&'a [KeyValue<'a>]),
}

/// One attribute: a non-empty UTF-8 key and its value.
///
/// ```
/// use ptel::KeyValue;
/// let kv = KeyValue::new("http.status_code", 200);
/// assert_eq!(kv.key, "http.status_code");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyValue<'a> {
    /// The key.
    pub key: &'a str,
    /// The value.
    pub value: AttrValue<'a>,
}

impl<'a> KeyValue<'a> {
    /// An attribute from anything that converts into an [`AttrValue`].
    ///
    /// ```
    /// let kv = ptel::KeyValue::new("ratio", 0.5);
    /// assert_eq!(kv.value, ptel::AttrValue::Double(0.5));
    /// ```
    #[inline]
    pub fn new(key: &'a str, value: impl Into<AttrValue<'a>>) -> KeyValue<'a> {
        KeyValue {
            key,
            value: value.into(),
        }
    }
}

impl<'a, V: Into<AttrValue<'a>>> From<(&'a str, V)> for KeyValue<'a> {
    /// `("key", value).into()`
    #[inline]
    fn from((key, value): (&'a str, V)) -> Self {
        KeyValue::new(key, value)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl<'a> From<$t> for AttrValue<'a> {
            #[inline]
            fn from(v: $t) -> Self { AttrValue::Int(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl<'a> From<u64> for AttrValue<'a> {
    /// Saturates at `i64::MAX` (OTLP integers are signed).
    #[inline]
    fn from(v: u64) -> Self {
        AttrValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl<'a> From<usize> for AttrValue<'a> {
    /// Saturates at `i64::MAX`.
    #[inline]
    fn from(v: usize) -> Self {
        AttrValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl<'a> From<isize> for AttrValue<'a> {
    #[inline]
    fn from(v: isize) -> Self {
        AttrValue::Int(v as i64)
    }
}
impl<'a> From<f64> for AttrValue<'a> {
    #[inline]
    fn from(v: f64) -> Self {
        AttrValue::Double(v)
    }
}
impl<'a> From<f32> for AttrValue<'a> {
    #[inline]
    fn from(v: f32) -> Self {
        AttrValue::Double(f64::from(v))
    }
}
impl<'a> From<bool> for AttrValue<'a> {
    #[inline]
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}
impl<'a> From<&'a str> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a str) -> Self {
        AttrValue::Str(v)
    }
}
impl<'a> From<&'a String> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a String) -> Self {
        AttrValue::Str(v.as_str())
    }
}
impl<'a> From<&'a [u8]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [u8]) -> Self {
        AttrValue::Bytes(v)
    }
}
impl<'a, const N: usize> From<&'a [u8; N]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [u8; N]) -> Self {
        AttrValue::Bytes(v)
    }
}
impl<'a> From<&'a [AttrValue<'a>]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [AttrValue<'a>]) -> Self {
        AttrValue::Array(v)
    }
}
impl<'a> From<&'a [&'a str]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [&'a str]) -> Self {
        AttrValue::StrArray(v)
    }
}
impl<'a> From<&'a [i64]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [i64]) -> Self {
        AttrValue::IntArray(v)
    }
}
impl<'a> From<&'a [f64]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [f64]) -> Self {
        AttrValue::DoubleArray(v)
    }
}
impl<'a> From<&'a [bool]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [bool]) -> Self {
        AttrValue::BoolArray(v)
    }
}
impl<'a> From<&'a [KeyValue<'a>]> for AttrValue<'a> {
    #[inline]
    fn from(v: &'a [KeyValue<'a>]) -> Self {
        AttrValue::Map(v)
    }
}
impl<'a, T> From<Option<T>> for AttrValue<'a>
where
    T: Into<AttrValue<'a>>,
{
    /// `None` is the empty value.
    #[inline]
    fn from(v: Option<T>) -> Self {
        v.map_or(AttrValue::Empty, Into::into)
    }
}

// ---- lowering ---------------------------------------------------------------

/// Values nested deeper than this are passed as empty values (the core's
/// own limit, `attribute_depth`, is far lower; this only bounds recursion).
const MAX_DEPTH: usize = sys::PTEL_HOST_MAX_DEPTH as usize;

/// Attributes per stack batch on the allocation-free path.
const STACK_ATTRS: usize = 16;

#[inline]
pub(crate) fn c_str(s: &str) -> sys::ptel_str {
    sys::ptel_str {
        ptr: s.as_ptr().cast(),
        len: s.len(),
    }
}

#[inline]
pub(crate) fn c_bytes(b: &[u8]) -> sys::ptel_str {
    sys::ptel_str {
        ptr: b.as_ptr().cast(),
        len: b.len(),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl AttrValue<'_> {
    #[inline]
    fn is_scalar(&self) -> bool {
        !matches!(
            self,
            AttrValue::Array(_)
                | AttrValue::StrArray(_)
                | AttrValue::IntArray(_)
                | AttrValue::DoubleArray(_)
                | AttrValue::BoolArray(_)
                | AttrValue::Map(_)
        )
    }

    /// A scalar as a C value (arrays and maps become empty).
    #[inline]
    fn lower_scalar(&self) -> sys::ptel_value {
        let mut v = sys::ptel_value::default();
        match *self {
            AttrValue::Empty => {}
            AttrValue::Str(s) => {
                v.r#type = sys::PTEL_VALUE_STRING;
                v.str = c_str(s);
            }
            AttrValue::Bool(b) => {
                v.r#type = sys::PTEL_VALUE_BOOL;
                v.i = i64::from(b);
            }
            AttrValue::Int(i) => {
                v.r#type = sys::PTEL_VALUE_INT;
                v.i = i;
            }
            AttrValue::Double(d) => {
                v.r#type = sys::PTEL_VALUE_DOUBLE;
                v.d = d;
            }
            AttrValue::Bytes(b) => {
                v.r#type = sys::PTEL_VALUE_BYTES;
                v.str = c_bytes(b);
            }
            _ => {}
        }
        v
    }

    /// Lower any value; nested arrays live in `store` until it is dropped.
    fn lower(&self, store: &mut Store, depth: usize) -> sys::ptel_value {
        if self.is_scalar() {
            return self.lower_scalar();
        }
        let mut v = sys::ptel_value::default();
        if depth >= MAX_DEPTH {
            return v;
        }
        let values: Option<Box<[sys::ptel_value]>> = match *self {
            AttrValue::Array(a) => Some(a.iter().map(|x| x.lower(store, depth + 1)).collect()),
            AttrValue::StrArray(a) => Some(
                a.iter()
                    .map(|&x| AttrValue::Str(x).lower_scalar())
                    .collect(),
            ),
            AttrValue::IntArray(a) => Some(
                a.iter()
                    .map(|&x| AttrValue::Int(x).lower_scalar())
                    .collect(),
            ),
            AttrValue::DoubleArray(a) => Some(
                a.iter()
                    .map(|&x| AttrValue::Double(x).lower_scalar())
                    .collect(),
            ),
            AttrValue::BoolArray(a) => Some(
                a.iter()
                    .map(|&x| AttrValue::Bool(x).lower_scalar())
                    .collect(),
            ),
            _ => None,
        };
        if let Some(values) = values {
            v.r#type = sys::PTEL_VALUE_ARRAY;
            v.count = count(values.len());
            v.array = values.as_ptr();
            store.values.push(values);
        } else if let AttrValue::Map(m) = *self {
            let attrs: Box<[sys::ptel_attr]> = m
                .iter()
                .map(|kv| sys::ptel_attr {
                    key: c_str(kv.key),
                    value: kv.value.lower(store, depth + 1),
                })
                .collect();
            v.r#type = sys::PTEL_VALUE_KVLIST;
            v.count = count(attrs.len());
            v.kvlist = attrs.as_ptr();
            store.attrs.push(attrs);
        }
        v
    }
}

/// Heap storage of nested values; boxed slices never move when the outer
/// vectors grow, so the pointers handed to C stay valid.
#[derive(Default)]
pub(crate) struct Store {
    values: Vec<Box<[sys::ptel_value]>>,
    attrs: Vec<Box<[sys::ptel_attr]>>,
}

/// Attributes lowered for one C call, kept alive as long as this value.
pub(crate) struct Lowered {
    attrs: Vec<sys::ptel_attr>,
    _store: Store,
}

impl Lowered {
    pub(crate) fn new(kvs: &[KeyValue<'_>]) -> Lowered {
        let mut store = Store::default();
        let attrs = kvs
            .iter()
            .map(|kv| sys::ptel_attr {
                key: c_str(kv.key),
                value: kv.value.lower(&mut store, 0),
            })
            .collect();
        Lowered {
            attrs,
            _store: store,
        }
    }

    pub(crate) fn ptr(&self) -> *const sys::ptel_attr {
        if self.attrs.is_empty() {
            core::ptr::null()
        } else {
            self.attrs.as_ptr()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.attrs.len()
    }
}

/// Call `f` with `kvs` as a C attribute array, in batches of at most
/// [`STACK_ATTRS`] lowered on the stack (no allocation) when every value is a
/// scalar, else all at once on the heap. `f` gets (pointer, count) and is
/// called at least once (with (NULL, 0) for an empty list).
#[inline]
pub(crate) fn with_attrs(kvs: &[KeyValue<'_>], mut f: impl FnMut(*const sys::ptel_attr, usize)) {
    if kvs.is_empty() {
        f(core::ptr::null(), 0);
        return;
    }
    if kvs.iter().all(|kv| kv.value.is_scalar()) {
        let mut buf = [MaybeUninit::<sys::ptel_attr>::uninit(); STACK_ATTRS];
        for chunk in kvs.chunks(STACK_ATTRS) {
            for (slot, kv) in buf.iter_mut().zip(chunk) {
                slot.write(sys::ptel_attr {
                    key: c_str(kv.key),
                    value: kv.value.lower_scalar(),
                });
            }
            f(buf.as_ptr().cast(), chunk.len());
        }
    } else {
        let lowered = Lowered::new(kvs);
        f(lowered.ptr(), lowered.len());
    }
}

/// Like [`with_attrs`] but all attributes in one call (events and links take
/// their attributes at once, so they cannot be batched): stack for up to
/// [`STACK_ATTRS`] scalars, heap otherwise.
#[inline]
pub(crate) fn with_attrs_once<R>(
    kvs: &[KeyValue<'_>],
    f: impl FnOnce(*const sys::ptel_attr, usize) -> R,
) -> R {
    if kvs.is_empty() {
        return f(core::ptr::null(), 0);
    }
    if kvs.len() <= STACK_ATTRS && kvs.iter().all(|kv| kv.value.is_scalar()) {
        let mut buf = [MaybeUninit::<sys::ptel_attr>::uninit(); STACK_ATTRS];
        for (slot, kv) in buf.iter_mut().zip(kvs) {
            slot.write(sys::ptel_attr {
                key: c_str(kv.key),
                value: kv.value.lower_scalar(),
            });
        }
        f(buf.as_ptr().cast(), kvs.len())
    } else {
        let lowered = Lowered::new(kvs);
        f(lowered.ptr(), lowered.len())
    }
}
