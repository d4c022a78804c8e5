//! Plugin metric deltas into the host's meter provider, through instruments
//! of the plugin's scope (the SDK takes no pre-aggregated data; see the
//! module documentation of [`crate::sdk`] for what each type keeps).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider, UpDownCounter};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1 as pb;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Num;

use super::convert;

/// Most measurements replayed for one histogram data point; a point with a
/// larger count (a hostile plugin can claim any) is skipped and counted.
pub(crate) const MAX_HISTOGRAM_REPLAY: u64 = 10_000;

#[derive(Clone)]
enum Instrument {
    CounterU64(Counter<u64>),
    CounterF64(Counter<f64>),
    UpDownI64(UpDownCounter<i64>),
    UpDownF64(UpDownCounter<f64>),
    GaugeI64(Gauge<i64>),
    GaugeF64(Gauge<f64>),
    Histogram(Histogram<f64>),
}

/// Which instrument a metric needs; part of the cache key, so a plugin that
/// changes a metric's type or unit gets the instrument the SDK gives for it
/// (the SDK reports the conflict, as it would for the host's own code).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    CounterInt,
    CounterDouble,
    UpDownInt,
    UpDownDouble,
    GaugeInt,
    GaugeDouble,
    Histogram,
}

type Key = (String, String, String, String, String, Shape, Vec<u64>);

/// Counts of one replay.
#[derive(Default)]
pub(crate) struct Replayed {
    pub points: u64,
    pub skipped: u64,
    pub attributes_dropped: u64,
}

/// Meters per plugin scope and instruments per metric, created once.
pub(crate) struct Replayer {
    provider: Box<dyn MeterProvider + Send + Sync>,
    meters: Mutex<HashMap<(String, String, String), Meter>>,
    instruments: Mutex<HashMap<Key, Instrument>>,
}

impl Replayer {
    pub(crate) fn new(provider: impl MeterProvider + Send + Sync + 'static) -> Replayer {
        Replayer {
            provider: Box::new(provider),
            meters: Mutex::new(HashMap::new()),
            instruments: Mutex::new(HashMap::new()),
        }
    }

    fn meter(&self, scope: &InstrumentationScope) -> Meter {
        let key = (
            scope.name().to_owned(),
            scope.version().unwrap_or_default().to_owned(),
            scope.schema_url().unwrap_or_default().to_owned(),
        );
        let mut meters = self.meters.lock().unwrap_or_else(PoisonError::into_inner);
        meters
            .entry(key)
            .or_insert_with(|| self.provider.meter_with_scope(scope.clone()))
            .clone()
    }

    fn instrument(
        &self,
        scope: &InstrumentationScope,
        m: &pb::Metric,
        shape: Shape,
        bounds: &[f64],
    ) -> Instrument {
        let key: Key = (
            scope.name().to_owned(),
            scope.version().unwrap_or_default().to_owned(),
            m.name.clone(),
            m.unit.clone(),
            m.description.clone(),
            shape,
            bounds.iter().map(|b| b.to_bits()).collect(),
        );
        let mut instruments = self
            .instruments
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = instruments.get(&key) {
            return i.clone();
        }
        let meter = self.meter(scope);
        let (name, unit, desc) = (m.name.clone(), m.unit.clone(), m.description.clone());
        macro_rules! build {
            ($ctor:ident) => {
                meter
                    .$ctor(name)
                    .with_unit(unit)
                    .with_description(desc)
                    .build()
            };
        }
        let i = match shape {
            Shape::CounterInt => Instrument::CounterU64(build!(u64_counter)),
            Shape::CounterDouble => Instrument::CounterF64(build!(f64_counter)),
            Shape::UpDownInt => Instrument::UpDownI64(build!(i64_up_down_counter)),
            Shape::UpDownDouble => Instrument::UpDownF64(build!(f64_up_down_counter)),
            Shape::GaugeInt => Instrument::GaugeI64(build!(i64_gauge)),
            Shape::GaugeDouble => Instrument::GaugeF64(build!(f64_gauge)),
            Shape::Histogram => Instrument::Histogram(
                meter
                    .f64_histogram(name)
                    .with_unit(unit)
                    .with_description(desc)
                    .with_boundaries(bounds.to_vec())
                    .build(),
            ),
        };
        instruments.insert(key, i.clone());
        i
    }

    /// Record every data point of one validated ScopeMetrics.
    pub(crate) fn replay(&self, sm: &pb::ScopeMetrics, out: &mut Replayed) {
        let scope = convert::scope(sm.scope.as_ref(), &sm.schema_url);
        for m in &sm.metrics {
            match &m.data {
                Some(pb::metric::Data::Sum(s)) => {
                    for p in &s.data_points {
                        let shape = match (s.is_monotonic, &p.value) {
                            (true, Some(Num::AsInt(_))) => Shape::CounterInt,
                            (true, _) => Shape::CounterDouble,
                            (false, Some(Num::AsInt(_))) => Shape::UpDownInt,
                            (false, _) => Shape::UpDownDouble,
                        };
                        let attrs = attrs(&p.attributes, out);
                        let i = self.instrument(&scope, m, shape, &[]);
                        number(&i, p.value.as_ref(), &attrs, out);
                    }
                }
                Some(pb::metric::Data::Gauge(g)) => {
                    for p in &g.data_points {
                        let shape = match &p.value {
                            Some(Num::AsInt(_)) => Shape::GaugeInt,
                            _ => Shape::GaugeDouble,
                        };
                        let attrs = attrs(&p.attributes, out);
                        let i = self.instrument(&scope, m, shape, &[]);
                        number(&i, p.value.as_ref(), &attrs, out);
                    }
                }
                Some(pb::metric::Data::Histogram(h)) => {
                    for p in &h.data_points {
                        let Some(values) = histogram_values(p) else {
                            out.skipped += 1;
                            continue;
                        };
                        let attrs = attrs(&p.attributes, out);
                        if let Instrument::Histogram(hist) =
                            self.instrument(&scope, m, Shape::Histogram, &p.explicit_bounds)
                        {
                            for v in values {
                                hist.record(v, &attrs);
                            }
                        }
                        out.points += 1;
                    }
                }
                // Host validation keeps only sums, gauges and histograms.
                _ => {}
            }
        }
    }
}

fn attrs(
    kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    out: &mut Replayed,
) -> Vec<KeyValue> {
    let (attrs, dropped) = convert::attributes(kvs);
    out.attributes_dropped += u64::from(dropped);
    attrs
}

fn number(i: &Instrument, v: Option<&Num>, attrs: &[KeyValue], out: &mut Replayed) {
    let recorded = match (i, v) {
        // Validation refuses negative monotonic sums; stay total anyway.
        (Instrument::CounterU64(c), Some(Num::AsInt(n))) => {
            u64::try_from(*n).map(|n| c.add(n, attrs)).is_ok()
        }
        (Instrument::CounterF64(c), Some(Num::AsDouble(d))) => {
            c.add(*d, attrs);
            true
        }
        (Instrument::UpDownI64(c), Some(Num::AsInt(n))) => {
            c.add(*n, attrs);
            true
        }
        (Instrument::UpDownF64(c), Some(Num::AsDouble(d))) => {
            c.add(*d, attrs);
            true
        }
        (Instrument::GaugeI64(g), Some(Num::AsInt(n))) => {
            g.record(*n, attrs);
            true
        }
        (Instrument::GaugeF64(g), Some(Num::AsDouble(d))) => {
            g.record(*d, attrs);
            true
        }
        _ => false,
    };
    if recorded {
        out.points += 1;
    } else {
        out.skipped += 1;
    }
}

/// The next double above `x` (`f64::next_up`, stable only since Rust 1.86).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// Measurements that give the SDK's histogram aggregation the data point's
/// count, min, max and bucket counts (for the same bounds) exactly, and its
/// sum up to floating-point rounding: the values themselves when there are
/// one or two, else min, max and the others spread inside their buckets to
/// make up the rest of the sum. `None` when the point is not consistent
/// enough to do that (no min or max with a count above one, buckets that
/// cannot hold min and max, a count above [`MAX_HISTOGRAM_REPLAY`]).
pub(crate) fn histogram_values(p: &pb::HistogramDataPoint) -> Option<Vec<f64>> {
    match p.count {
        0 => return Some(Vec::new()),
        1 => return Some(vec![p.sum.unwrap_or(p.min.or(p.max)?)]),
        n if n > MAX_HISTOGRAM_REPLAY => return None,
        _ => {}
    }
    let (min, max) = (p.min?, p.max?);
    if p.count == 2 {
        return Some(vec![min, max]);
    }
    let bounds = &p.explicit_bounds;
    let bucket = |v: f64| bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
    let mut rest: Vec<u64> = if p.bucket_counts.is_empty() {
        // No buckets: only count, sum, min and max to keep; one range.
        let mut all = vec![0; bounds.len() + 1];
        all[bucket(min)] = p.count;
        all
    } else {
        p.bucket_counts.clone()
    };
    if rest.len() != bounds.len() + 1 {
        return None;
    }
    for v in [min, max] {
        let slot = rest.get_mut(bucket(v))?;
        *slot = slot.checked_sub(1)?;
    }
    let mut values = Vec::with_capacity(usize::try_from(p.count).ok()?);
    values.push(min);
    let mut room = Vec::new();
    for (i, &c) in rest.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let lo = if i == 0 {
            min
        } else {
            next_up(bounds[i - 1]).max(min)
        };
        let hi = bounds.get(i).copied().unwrap_or(f64::INFINITY).min(max);
        if lo > hi {
            return None;
        }
        for _ in 0..c {
            values.push(lo);
            room.push(hi - lo);
        }
    }
    values.push(max);
    // Raise the middle values, in order, until they make up the sum.
    let mut left = p.sum.unwrap_or(0.0) - values.iter().sum::<f64>();
    for (v, r) in values[1..].iter_mut().zip(room) {
        if left.is_nan() || left <= 0.0 {
            break;
        }
        let d = left.min(r);
        *v += d;
        left -= d;
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(bounds: &[f64], values: &[f64]) -> pb::HistogramDataPoint {
        let mut counts = vec![0u64; bounds.len() + 1];
        for v in values {
            counts[bounds.iter().position(|b| v <= b).unwrap_or(bounds.len())] += 1;
        }
        pb::HistogramDataPoint {
            count: values.len() as u64,
            sum: Some(values.iter().sum()),
            min: values.iter().copied().reduce(f64::min),
            max: values.iter().copied().reduce(f64::max),
            bucket_counts: counts,
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn one_and_two_measurements_are_the_values_themselves() {
        let b = [0.0, 5.0, 10.0];
        assert_eq!(histogram_values(&point(&b, &[7.5])), Some(vec![7.5]));
        assert_eq!(
            histogram_values(&point(&b, &[1.5, 7.0])),
            Some(vec![1.5, 7.0])
        );
        assert_eq!(histogram_values(&point(&b, &[])), Some(vec![]));
    }

    #[test]
    fn more_measurements_keep_count_buckets_min_max_and_sum() {
        let b = [0.0, 5.0, 10.0, 25.0];
        for values in [
            &[1.0, 2.0, 3.0][..],
            &[-4.0, 0.0, 5.0, 5.0, 9.5, 12.0, 30.0],
            &[10.0, 10.0, 10.0, 10.0],
            &[0.5, 24.0, 24.5, 6.0, 6.5, 7.0],
        ] {
            let want = point(&b, values);
            let got = histogram_values(&want).unwrap();
            // The aggregate the SDK builds from the replayed measurements.
            let agg = point(&b, &got);
            assert_eq!(agg.count, want.count, "{values:?}");
            assert_eq!(agg.bucket_counts, want.bucket_counts, "{values:?}");
            assert_eq!((agg.min, agg.max), (want.min, want.max), "{values:?}");
            let (s, w) = (agg.sum.unwrap(), want.sum.unwrap());
            assert!(
                (s - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{values:?}: {s} != {w}"
            );
        }
    }

    #[test]
    fn inconsistent_or_huge_points_are_refused() {
        let b = [0.0, 5.0];
        let mut p = point(&b, &[1.0, 2.0, 3.0]);
        p.min = None;
        assert_eq!(histogram_values(&p), None);
        // min in a bucket the counts say is empty
        let mut p = point(&b, &[1.0, 2.0, 3.0]);
        p.min = Some(-1.0);
        assert_eq!(histogram_values(&p), None);
        // bucket counts of the wrong length
        let mut p = point(&b, &[1.0, 2.0, 3.0]);
        p.bucket_counts.pop();
        assert_eq!(histogram_values(&p), None);
        // a bucket whose range lies outside [min, max]
        let mut p = point(&b, &[1.0, 2.0, 3.0]);
        p.bucket_counts = vec![0, 2, 1];
        p.max = Some(3.0);
        assert_eq!(histogram_values(&p), None);
        let mut p = point(&b, &[1.0, 2.0, 3.0]);
        p.count = MAX_HISTOGRAM_REPLAY + 1;
        p.bucket_counts = vec![0, MAX_HISTOGRAM_REPLAY + 1, 0];
        assert_eq!(histogram_values(&p), None);
        // NaN sums stay total (nothing raised)
        let mut p = point(&b, &[1.0, 2.0, 3.0]);
        p.sum = Some(f64::NAN);
        assert_eq!(histogram_values(&p), Some(vec![1.0, 1.0, 3.0]));
    }

    #[test]
    fn next_up_steps_one_ulp() {
        assert_eq!(next_up(0.0), f64::from_bits(1));
        assert_eq!(next_up(-0.0), f64::from_bits(1));
        assert!(next_up(1.0) > 1.0 && next_up(1.0) - 1.0 == f64::EPSILON);
        assert!(next_up(-1.0) > -1.0);
        assert_eq!(next_up(f64::INFINITY), f64::INFINITY);
        assert!(next_up(f64::NAN).is_nan());
    }
}
