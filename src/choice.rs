//! clap's side of the engine's choice tables: one value parser for every
//! [`Choice`](noisegate_engine::Choice), so `--output`, `--upstream` and `--target` list,
//! parse and document exactly the engine's table.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use noisegate_engine::Choice;
use std::ffi::OsStr;
use std::marker::PhantomData;

/// Parses one of `T::ALL` by name.
#[derive(Clone, Copy)]
pub struct ChoiceParser<T>(PhantomData<T>);

/// The value parser of a choice table.
pub fn choice<T: Choice>() -> ChoiceParser<T> {
    ChoiceParser(PhantomData)
}

fn values<T: Choice>() -> impl Iterator<Item = PossibleValue> {
    T::ALL
        .iter()
        .map(|c| PossibleValue::new(c.name()).help(c.help()))
}

impl<T: Choice + Send + Sync> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let name = PossibleValuesParser::new(values::<T>()).parse_ref(cmd, arg, value)?;
        Ok(T::from_name(&name).expect("a listed name"))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(values::<T>()))
    }
}
