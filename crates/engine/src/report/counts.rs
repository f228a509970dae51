//! The `{ <key>: string, requests }` list items of the view model (methods, clients, user
//! agents, paths, client families) and how a list is taken from a [`KeyCounts`]. A leaf of
//! `report/`: it uses nothing of the view model, so every part of the model can use it.

use crate::escape::ser_bytes;
use crate::summary::KeyCounts;
use serde::Serialize;

/// Declares a `{ <key>: string, requests }` list item; each list names its key for JSON.
macro_rules! count_type {
    ($name:ident, $key:ident) => {
        /// A key from the log and its request count.
        #[derive(Debug, Serialize)]
        pub(crate) struct $name {
            /// The key as logged (in JSON a byte that is not UTF-8 appears as `\xHH`).
            #[serde(serialize_with = "ser_bytes")]
            pub $key: Vec<u8>,
            /// Requests with that key.
            pub(crate) requests: u64,
        }

        impl From<(&[u8], u64)> for $name {
            fn from((key, requests): (&[u8], u64)) -> Self {
                $name {
                    $key: key.to_vec(),
                    requests,
                }
            }
        }
    };
}

count_type!(MethodCount, method);
count_type!(ClientCount, client);
count_type!(AgentCount, user_agent);
count_type!(PathCount, path);
count_type!(FamilyCount, family);

/// The `top` keys of `k` with the most requests (0 = all), ties by key.
pub(super) fn top<T: for<'a> From<(&'a [u8], u64)>>(k: &KeyCounts, top: usize) -> Vec<T> {
    k.top(top).into_iter().map(T::from).collect()
}
