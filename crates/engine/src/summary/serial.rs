//! Serde helpers for the summary's compact forms: a status table as its non-zero entries,
//! and an HDR histogram as its recorded (value, count) pairs.

use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `Vec<u64>` indexed by status code, saved as its non-zero `(code, count)` pairs.
pub mod sparse {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(usize, u64)> = v.iter().copied().enumerate().filter(|p| p.1 > 0).collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let pairs: Vec<(usize, u64)> = Vec::deserialize(d)?;
        let mut v = vec![0; 1000];
        for (code, n) in pairs {
            *v.get_mut(code)
                .ok_or_else(|| serde::de::Error::custom("status out of range"))? = n;
        }
        Ok(v)
    }
}

/// A latency histogram, saved as its recorded `(value, count)` pairs.
pub mod histogram {
    use super::*;
    use crate::summary::MAX_LATENCY_MS;

    pub fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(u64, u64)> = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let pairs: Vec<(u64, u64)> = Vec::deserialize(d)?;
        let mut h =
            Histogram::new_with_bounds(1, MAX_LATENCY_MS, 3).map_err(serde::de::Error::custom)?;
        for (v, n) in pairs {
            h.record_n(v.min(MAX_LATENCY_MS), n)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(h)
    }
}
