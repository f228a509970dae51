//! Saved summaries: `--save-summary FILE` writes the mergeable summary of a run (versioned,
//! gzip-compressed JSON) and `noisegate merge` combines saved summaries from several
//! machines, containers or days with the same merge the worker threads use, so the result is
//! the report one run over all the logs would give.
//!
//! A file holds the summary, the input names and formats, and the compact noise records the
//! storm details are computed from.

use crate::pipeline::{ScanResult, SourceError, SourceFormat};
use crate::summary::noise::{self, NoiseRecord, NoiseRef};
use crate::summary::{Caps, Summary};
use anyhow::{anyhow, bail, Context, Result};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::Path;

/// What identifies a summary file.
pub const FORMAT: &str = "noisegate-summary";
/// The version of the file layout; a reader refuses others.
pub const VERSION: u32 = 1;

/// An input of a saved run.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedSource {
    /// Its name.
    pub name: String,
    /// Its format's name.
    pub format: Option<String>,
    /// What that format lacks.
    pub notes: Vec<String>,
}

/// A saved summary.
#[derive(Debug, Serialize, Deserialize)]
pub struct SummaryFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The layout version.
    pub version: u32,
    /// The noisegate that wrote it.
    pub noisegate: String,
    /// The inputs, by source index.
    pub sources: Vec<SavedSource>,
    /// Inputs that could not be read: (name, message).
    pub errors: Vec<(String, String)>,
    /// The summary.
    pub summary: Summary,
    /// The noise records of the storm details.
    pub noise: Vec<NoiseRecord>,
}

/// Writes the summary of `scan` to `path` (atomically: a temporary file renamed over it).
pub fn save(path: &Path, scan: &mut ScanResult) -> Result<()> {
    let mut noise = Vec::new();
    for spool in &mut scan.spools {
        spool.rewind()?;
        let mut r = BufReader::new(&*spool);
        let mut rec = NoiseRecord::default();
        while noise::read(&mut r, &mut rec)? {
            noise.push(rec.clone());
        }
        spool.rewind()?;
    }
    let file = SummaryFile {
        format: FORMAT.to_string(),
        version: VERSION,
        noisegate: env!("CARGO_PKG_VERSION").to_string(),
        sources: scan
            .sources
            .iter()
            .zip(&scan.formats)
            .map(|(name, f)| SavedSource {
                name: name.clone(),
                format: f.name.clone(),
                notes: f.notes.clone(),
            })
            .collect(),
        errors: scan
            .errors
            .iter()
            .map(|e| (e.source.clone(), e.message.clone()))
            .collect(),
        summary: scan.summary.clone(),
        noise,
    };
    let shown = path.display();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("{}", dir.display()))?;
    let mut gz = GzEncoder::new(BufWriter::new(tmp), flate2::Compression::default());
    serde_json::to_writer(&mut gz, &file)?;
    let tmp = gz
        .finish()?
        .into_inner()
        .map_err(|e| anyhow!("{shown}: {e}"))?;
    tmp.persist(path).map_err(|e| anyhow!("{shown}: {e}"))?;
    Ok(())
}

/// Reads a summary file, refusing other files and other layout versions.
pub fn load(path: &Path) -> Result<SummaryFile> {
    let shown = path.display();
    let f = std::fs::File::open(path).with_context(|| format!("{shown}"))?;
    let r = BufReader::new(MultiGzDecoder::new(BufReader::new(f)));
    let file: SummaryFile = serde_json::from_reader(r)
        .map_err(|e| anyhow!("{shown}: not a noisegate summary ({e})"))?;
    if file.format != FORMAT || file.version != VERSION {
        bail!("{shown}: {} version {} is not a summary this noisegate reads ({FORMAT} version {VERSION})", file.format, file.version);
    }
    Ok(file)
}

/// Combines saved summaries into one scan result, as if one run had read all their inputs.
pub fn combine(files: Vec<SummaryFile>, caps: &Caps) -> Result<ScanResult> {
    let mut summary = Summary::new(caps);
    let (mut sources, mut formats, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut spool = BufWriter::new(tempfile::tempfile()?);
    for mut f in files {
        let offset = sources.len() as u32;
        for ex in &mut f.summary.reject_examples {
            ex.source += offset;
        }
        summary.merge(&f.summary);
        for s in f.sources {
            formats.push(SourceFormat {
                name: s.format,
                notes: s.notes,
            });
            sources.push(s.name);
        }
        errors.extend(
            f.errors
                .into_iter()
                .map(|(source, message)| SourceError { source, message }),
        );
        for r in &f.noise {
            let r = NoiseRef {
                category: r.category,
                time: r.time,
                status: r.status,
                method: &r.method,
                client: &r.client,
                path: &r.path,
                user_agent: &r.user_agent,
            };
            noise::write(&mut spool, &r)?;
        }
    }
    summary.reject_examples.sort();
    spool.flush()?;
    let spool = spool.into_inner().map_err(|e| anyhow!("{e}"))?;
    Ok(ScanResult {
        summary,
        sources,
        formats,
        errors,
        spools: vec![spool],
        client: None,
        consumed: Vec::new(),
        pending_state: None,
    })
}
