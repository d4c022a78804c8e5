//! Instruments of a [`Recorder`]: counters, up-down counters, gauges and
//! histograms, over `i64` or `f64`.

use core::fmt;
use core::marker::PhantomData;

use ptel_sys as sys;

use crate::attr::{KeyValue, c_str, with_attrs_once};
use crate::context::SpanContext;
use crate::recorder::{Recorder, Span};

mod sealed {
    pub trait Sealed {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

/// The number types of measurements: `i64` and `f64`.
///
/// ```
/// fn takes<N: ptel::Number>(_: N) {}
/// takes(1i64);
/// takes(1.5f64);
/// ```
pub trait Number: sealed::Sealed + Copy + fmt::Debug + 'static {
    #[doc(hidden)]
    const NUMBER_TYPE: u32;
    #[doc(hidden)]
    fn to_value(self) -> NumberValue;
}

/// A measurement as the core takes it (implementation detail of [`Number`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum NumberValue {
    /// `ptel_metric_record_int`
    Int(i64),
    /// `ptel_metric_record_double`
    Double(f64),
}

impl Number for i64 {
    const NUMBER_TYPE: u32 = sys::PTEL_NUMBER_INT;
    #[inline]
    fn to_value(self) -> NumberValue {
        NumberValue::Int(self)
    }
}

impl Number for f64 {
    const NUMBER_TYPE: u32 = sys::PTEL_NUMBER_DOUBLE;
    #[inline]
    fn to_value(self) -> NumberValue {
        NumberValue::Double(self)
    }
}

/// An instrument handle: the C `ptel_metric` (NULL when the recorder
/// refused it, and then every measurement is skipped; the refusal was
/// counted when it was created).
struct Handle<'r, N> {
    rec: &'r Recorder,
    raw: *mut sys::ptel_metric,
    _n: PhantomData<N>,
}

impl<N: Number> Handle<'_, N> {
    #[inline]
    fn record(&self, value: N, attrs: &[KeyValue<'_>], span: *const sys::ptel_span) {
        if self.raw.is_null() {
            return;
        }
        let rc = with_attrs_once(attrs, |p, n| match value.to_value() {
            // SAFETY: raw is a live instrument of the borrowed recorder; p
            // points to n attributes; span is NULL or a span of the recorder.
            NumberValue::Int(i) => unsafe { sys::ptel_metric_record_int(self.raw, i, p, n, span) },
            // SAFETY: as above.
            NumberValue::Double(d) => unsafe {
                sys::ptel_metric_record_double(self.raw, d, p, n, span)
            },
        });
        self.rec.note(rc);
    }

    #[inline]
    fn record_ctx(&self, value: N, attrs: &[KeyValue<'_>], active: &SpanContext) {
        if self.raw.is_null() {
            return;
        }
        let c = active.to_c();
        let rc = with_attrs_once(attrs, |p, n| match value.to_value() {
            // SAFETY: as in record; c is a valid span context for the call.
            NumberValue::Int(i) => unsafe {
                sys::ptel_metric_record_int_ctx(self.raw, i, p, n, &c)
            },
            // SAFETY: as above.
            NumberValue::Double(d) => unsafe {
                sys::ptel_metric_record_double_ctx(self.raw, d, p, n, &c)
            },
        });
        self.rec.note(rc);
    }
}

macro_rules! instrument {
    ($(#[$doc:meta])* $name:ident, $verb:ident, $verb_with_span:ident, $verb_with_context:ident, $example:literal) => {
        $(#[$doc])*
        pub struct $name<'r, N> {
            h: Handle<'r, N>,
        }

        impl<N: Number> fmt::Debug for $name<'_, N> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("valid", &!self.h.raw.is_null()).finish()
            }
        }

        impl<'r, N: Number> $name<'r, N> {
            /// Record a measurement with attributes; the recorder's active
            /// span (the innermost live span), when sampled, becomes the data
            /// point's exemplar.
            ///
            /// ```
            /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
            /// # let rec = ptel::Recorder::new(&ctx);
            #[doc = $example]
            /// # Ok::<(), ptel::Error>(())
            /// ```
            #[inline]
            pub fn $verb(&self, value: N, attrs: &[KeyValue<'_>]) {
                self.h.record(value, attrs, self.h.rec.active());
            }

            /// As the plain method, with the exemplar span named explicitly
            /// (`None`: no exemplar).
            ///
            /// ```
            /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
            /// # let rec = ptel::Recorder::new(&ctx);
            /// let span = rec.span("work");
            /// let m = rec.i64_histogram("payload.size").with_unit("By").build();
            /// m.record_with_span(1234, &[], Some(&span));
            /// m.record_with_span(10, &[], None);
            /// # Ok::<(), ptel::Error>(())
            /// ```
            #[inline]
            pub fn $verb_with_span(&self, value: N, attrs: &[KeyValue<'_>], span: Option<&Span<'r>>) {
                self.h.record(value, attrs, span.map_or(core::ptr::null(), |s| s.raw()));
            }

            /// As the plain method, with the exemplar span named by its
            /// context (used when it is valid, of this trace and sampled).
            ///
            /// ```
            /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
            /// # let rec = ptel::Recorder::new(&ctx);
            /// let sc = rec.span("work").context();
            /// rec.f64_gauge("temp").build().record_with_context(21.5, &[], &sc);
            /// # Ok::<(), ptel::Error>(())
            /// ```
            #[inline]
            pub fn $verb_with_context(&self, value: N, attrs: &[KeyValue<'_>], active: &SpanContext) {
                self.h.record_ctx(value, attrs, active);
            }

            /// True when the recorder accepted the instrument (a refused
            /// one, e.g. with an invalid name, silently records nothing).
            ///
            /// ```
            /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
            /// # let rec = ptel::Recorder::new(&ctx);
            /// assert!(!rec.i64_counter("9starts.with.digit").build().is_valid());
            /// # Ok::<(), ptel::Error>(())
            /// ```
            pub fn is_valid(&self) -> bool {
                !self.h.raw.is_null()
            }
        }

        impl<'r, N: Number> Built<'r, N> for $name<'r, N> {
            fn from_handle(rec: &'r Recorder, raw: *mut sys::ptel_metric) -> Self {
                $name { h: Handle { rec, raw, _n: PhantomData } }
            }
        }
    };
}

/// Made by an [`InstrumentBuilder`].
#[doc(hidden)]
pub trait Built<'r, N> {
    #[doc(hidden)]
    fn from_handle(rec: &'r Recorder, raw: *mut sys::ptel_metric) -> Self;
}

instrument!(
    /// A monotonic sum (negative increments are refused and counted).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let c = rec.i64_counter("pii.detections").with_unit("{detection}").build();
    /// c.add(2, &[ptel::KeyValue::new("pii.type", "email")]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    Counter, add, add_with_span, add_with_context,
    "rec.i64_counter(\"hits\").build().add(1, &[]);"
);
instrument!(
    /// A non-monotonic sum.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let q = rec.f64_up_down_counter("queue.depth").build();
    /// q.add(3.5, &[]);
    /// q.add(-1.25, &[]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    UpDownCounter, add, add_with_span, add_with_context,
    "rec.i64_up_down_counter(\"active\").build().add(-1, &[]);"
);
instrument!(
    /// The last value recorded.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// rec.i64_gauge("limit.remaining").with_unit("{request}").build().record(7, &[]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    Gauge, record, record_with_span, record_with_context,
    "rec.f64_gauge(\"load\").build().record(0.75, &[]);"
);
instrument!(
    /// An explicit-bucket histogram (count, sum, min, max, buckets).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let h = rec.f64_histogram("scan.duration").with_unit("s")
    ///     .with_boundaries(&[0.001, 0.01, 0.1]).build();
    /// h.record(0.004, &[]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    Histogram, record, record_with_span, record_with_context,
    "rec.i64_histogram(\"payload.size\").with_unit(\"By\").build().record(512, &[]);"
);

/// Describes an instrument before it is created (see
/// [`Recorder::i64_counter`] and its siblings). Asking twice for the same
/// name (case-insensitive) with the same description returns the same
/// instrument; a different kind, number type, unit or bounds is refused
/// and counted.
///
/// ```
/// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// # let rec = ptel::Recorder::new(&ctx);
/// let h = rec.f64_histogram("latency").with_unit("s").with_description("time per call").build();
/// # Ok::<(), ptel::Error>(())
/// ```
#[must_use = "an instrument builder does nothing until `build` is called"]
pub struct InstrumentBuilder<'r, 'a, I> {
    rec: &'r Recorder,
    kind: u32,
    number_type: u32,
    name: &'a str,
    unit: &'a str,
    description: &'a str,
    bounds: Option<&'a [f64]>,
    _i: PhantomData<I>,
}

impl<'r, 'a, I> InstrumentBuilder<'r, 'a, I> {
    /// The UCUM unit (ASCII, at most 63 characters: `s`, `ms`, `By`, `{item}`).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let c = rec.i64_counter("bytes.in").with_unit("By").build();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn with_unit(mut self, unit: &'a str) -> Self {
        self.unit = unit;
        self
    }

    /// A human description.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let c = rec.i64_counter("hits").with_description("cache hits").build();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn with_description(mut self, description: &'a str) -> Self {
        self.description = description;
        self
    }

    /// Histogram bucket bounds, finite and strictly increasing (default:
    /// the OpenTelemetry default bounds, see [`default_histogram_bounds`]).
    /// Ignored by the other kinds.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let bad = rec.f64_histogram("h").with_boundaries(&[2.0, 1.0]).build();
    /// assert!(!bad.is_valid());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn with_boundaries(mut self, bounds: &'a [f64]) -> Self {
        self.bounds = Some(bounds);
        self
    }
}

impl<'r, I> InstrumentBuilder<'r, '_, I> {
    /// Create (or look up) the instrument. Never fails: a refused instrument
    /// records nothing (see `is_valid`) and the refusal is counted.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let c = rec.i64_counter("requests").build();
    /// assert!(c.is_valid());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn build<N>(self) -> I
    where
        I: Built<'r, N>,
    {
        let rec = self.rec;
        if rec.raw().is_null() {
            return I::from_handle(rec, core::ptr::null_mut());
        }
        let mut o = sys::ptel_metric_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_metric_options_init(&mut o) };
        o.kind = self.kind;
        o.number_type = self.number_type;
        o.name = c_str(self.name);
        o.unit = c_str(self.unit);
        o.description = c_str(self.description);
        if let Some(b) = self.bounds {
            // An explicit empty list means one bucket, not the defaults (NULL),
            // so an empty slice passes its dangling, never-read pointer.
            o.bounds = b.as_ptr();
            o.bound_count = b.len();
        }
        let mut raw = core::ptr::null_mut();
        // SAFETY: rec.raw is live; o borrows strings valid for the call.
        let rc = unsafe { sys::ptel_metric_get(&mut raw, rec.raw(), &o) };
        rec.note(rc);
        I::from_handle(rec, raw)
    }
}

macro_rules! ctor {
    ($(#[$doc:meta])* $fn:ident, $ty:ident, $n:ty, $kind:expr) => {
        $(#[$doc])*
        pub fn $fn<'a>(&self, name: &'a str) -> InstrumentBuilder<'_, 'a, $ty<'_, $n>> {
            InstrumentBuilder {
                rec: self,
                kind: $kind,
                number_type: <$n as Number>::NUMBER_TYPE,
                name,
                unit: "",
                description: "",
                bounds: None,
                _i: PhantomData,
            }
        }
    };
}

impl Recorder {
    ctor!(
        /// An integer counter.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.i64_counter("requests").build().add(1, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        i64_counter, Counter, i64, sys::PTEL_METRIC_COUNTER
    );
    ctor!(
        /// A floating-point counter.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.f64_counter("cpu.time").with_unit("s").build().add(0.25, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        f64_counter, Counter, f64, sys::PTEL_METRIC_COUNTER
    );
    ctor!(
        /// An integer up-down counter.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.i64_up_down_counter("inflight").build().add(-1, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        i64_up_down_counter, UpDownCounter, i64, sys::PTEL_METRIC_UPDOWN_COUNTER
    );
    ctor!(
        /// A floating-point up-down counter.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.f64_up_down_counter("balance").build().add(-2.5, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        f64_up_down_counter, UpDownCounter, f64, sys::PTEL_METRIC_UPDOWN_COUNTER
    );
    ctor!(
        /// An integer gauge.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.i64_gauge("threads").build().record(8, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        i64_gauge, Gauge, i64, sys::PTEL_METRIC_GAUGE
    );
    ctor!(
        /// A floating-point gauge (NaN and infinities are accepted).
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.f64_gauge("ratio").build().record(0.5, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        f64_gauge, Gauge, f64, sys::PTEL_METRIC_GAUGE
    );
    ctor!(
        /// An integer histogram.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.i64_histogram("payload.size").with_unit("By").build().record(1234, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        i64_histogram, Histogram, i64, sys::PTEL_METRIC_HISTOGRAM
    );
    ctor!(
        /// A floating-point histogram.
        ///
        /// ```
        /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
        /// # let rec = ptel::Recorder::new(&ctx);
        /// rec.f64_histogram("scan.duration").with_unit("s").build().record(0.004, &[]);
        /// # Ok::<(), ptel::Error>(())
        /// ```
        f64_histogram, Histogram, f64, sys::PTEL_METRIC_HISTOGRAM
    );
}

/// The OpenTelemetry default explicit bucket bounds (15 values).
///
/// ```
/// let b = ptel::default_histogram_bounds();
/// assert_eq!((b.len(), b[0], b[14]), (15, 0.0, 10000.0));
/// ```
pub fn default_histogram_bounds() -> &'static [f64] {
    let mut n = 0usize;
    // SAFETY: returns a static array of n doubles.
    let p = unsafe { sys::ptel_default_histogram_bounds(&mut n) };
    if p.is_null() {
        return &[];
    }
    // SAFETY: static data of n elements.
    unsafe { core::slice::from_raw_parts(p, n) }
}
