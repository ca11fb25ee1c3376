//! What the hand-rolled benches share: variants interleaved round by round,
//! medians, and the tables they print.

#![allow(dead_code)] // each bench uses its own part

use std::time::Duration;

/// One variant: runs one round and returns the time of one unit of work.
pub(crate) type Variant<'a> = (&'a str, Box<dyn FnMut() -> Duration + 'a>);

/// Runs every variant once per round, in turn, for `rounds` rounds; returns
/// each variant's median.
/// With `ZEPHYR_BENCH_VARIANT=i` set, only variant `i` runs (the others
/// report zero): for profiling one variant.
pub(crate) fn interleave(rounds: usize, variants: &mut [Variant<'_>]) -> Vec<Duration> {
    let only: Option<usize> = std::env::var("ZEPHYR_BENCH_VARIANT")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut samples = vec![Vec::with_capacity(rounds); variants.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in variants.iter_mut().enumerate() {
            samples[i].push(if only.is_none_or(|o| o == i) {
                run()
            } else {
                Duration::from_nanos(1)
            });
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect()
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

pub(crate) fn ns(d: Duration) -> String {
    format!("{:.0} ns", d.as_secs_f64() * 1e9)
}

pub(crate) fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

/// Prints one section: its title, then a row per variant with its median
/// and its ratio to the first variant (the baseline).
pub(crate) fn table(
    title: &str,
    unit: &str,
    variants: &[Variant<'_>],
    medians: &[Duration],
    show: fn(Duration) -> String,
) {
    println!("\n## {title}\n");
    println!("| variant | {unit} | ratio to {} |", variants[0].0);
    println!("|---|---|---|");
    for ((name, _), median) in variants.iter().zip(medians) {
        println!(
            "| {name} | {} | {} |",
            show(*median),
            ratio(*median, medians[0])
        );
    }
}

/// Prints a section of pairs (variants `2k` and `2k + 1`: a baseline and
/// ours), a row per pair with both medians and their ratio; returns the
/// geometric mean of the ratios.
pub(crate) fn pair_table(
    title: &str,
    columns: [&str; 2],
    variants: &[Variant<'_>],
    medians: &[Duration],
    show: fn(Duration) -> String,
) -> f64 {
    println!("\n## {title}\n");
    println!("| program | {} | {} | ratio |", columns[0], columns[1]);
    println!("|---|---|---|---|");
    let mut log_sum = 0.0;
    let pairs = variants.len() / 2;
    for k in 0..pairs {
        let (base, ours) = (medians[2 * k], medians[2 * k + 1]);
        let r = ours.as_secs_f64() / base.as_secs_f64();
        log_sum += r.ln();
        println!(
            "| {} | {} | {} | {r:.2}x |",
            variants[2 * k].0,
            show(base),
            show(ours)
        );
    }
    let geomean = (log_sum / pairs as f64).exp();
    println!("| geometric mean | | | {geomean:.2}x |");
    geomean
}

/// `--rounds N` and `--only NAME` from the bench's command line, and
/// whether `--quick` was given.
pub(crate) struct Args {
    pub(crate) rounds: Option<usize>,
    pub(crate) only: Option<String>,
    pub(crate) quick: bool,
}

impl Args {
    pub(crate) fn parse() -> Args {
        let args: Vec<String> = std::env::args().collect();
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        Args {
            rounds: value("--rounds").and_then(|r| r.parse().ok()),
            only: value("--only"),
            quick: args.iter().any(|a| a == "--quick"),
        }
    }

    /// Whether the section `name` runs.
    pub(crate) fn runs(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == name)
    }
}
