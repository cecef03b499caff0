//! Durations collected by a measurement and the figures the table shows.

use std::time::Duration;

/// A set of measured durations.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    pub fn new(mut durations: Vec<Duration>) -> Samples {
        durations.sort();
        Samples { sorted: durations }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The nearest-rank percentile `p` (0-100); zero when empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = (p / 100.0 * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn median(&self) -> Duration {
        self.percentile(50.0)
    }

    /// The median, if anything was measured: a target is not judged on
    /// the zero of an empty set.
    pub fn measured_median(&self) -> Option<Duration> {
        (!self.sorted.is_empty()).then(|| self.median())
    }
}

/// Milliseconds with a precision that suits the value.
pub fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Samples {
        Samples::new(values.iter().map(|&v| Duration::from_millis(v)).collect())
    }

    #[test]
    fn nothing_measured_has_no_median() {
        assert_eq!(millis(&[]).measured_median(), None);
        assert_eq!(
            millis(&[3]).measured_median(),
            Some(Duration::from_millis(3))
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples = millis(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!(samples.median(), Duration::from_millis(5));
        assert_eq!(samples.percentile(90.0), Duration::from_millis(9));
        assert_eq!(samples.percentile(99.0), Duration::from_millis(10));
        assert_eq!(samples.percentile(0.0), Duration::from_millis(1));
    }

    #[test]
    fn empty_samples_are_zero() {
        assert_eq!(Samples::default().median(), Duration::ZERO);
    }

    #[test]
    fn milliseconds_keep_two_significant_decimals_when_small() {
        assert_eq!(ms(Duration::from_micros(1234)), "1.23");
        assert_eq!(ms(Duration::from_micros(123_456)), "123.5");
    }
}
