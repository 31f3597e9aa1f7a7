//! Figures of a model, as PNG and SVG: what `mdn plot` and `mdn demo` draw.
//!
//! | file | what it shows |
//! |---|---|
//! | `density` | `p(y\|x)` as a heatmap over one feature and the target, the data on top, the predictive mean as a line |
//! | `slices` | `p(y\|x)` at chosen feature values (`--at`) and data rows (`--rows`), with every mode, the mean and the observed `y` |
//! | `training` | training and validation NLL per epoch, from `<model>.metrics.csv` |
//! | `calibration` | the PIT histogram and the coverage of central intervals against their nominal level (needs data) |
//!
//! Every density, mode, mean and quantile is computed by mdn-core from the blob, so the
//! pictures show what the device computes. With several features, one varies (the first,
//! or `feature`) and the others sit at their medians in the data, or without data at
//! `offset + scale / 2` of the input scaler (the middle of the training range under the
//! default minmax scaling). With several targets, the figures show one target's marginal
//! (the first, or `target`).
//!
//! Text is drawn with DejaVu Sans, embedded in the binary and registered with plotters'
//! `ab_glyph` backend, so plotting needs no font on the machine. Figures are rendered in
//! memory, so a failure writes nothing; [`write()`] then writes each file atomically.

mod calibration;
mod density;
mod slices;
mod training;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use mdn_core::{HostModel, Mixture, TargetTransform};
use plotters::{
    coord::Shift,
    prelude::{
        BitMapBackend, DrawingArea, DrawingAreaErrorKind, DrawingBackend, IntoDrawingArea as _,
        SVGBackend,
    },
    style::{FontStyle, RGBColor},
};

use crate::{
    data::Dataset,
    describe::ModelInfo,
    error::{Error, Result},
    eval::ModelFile,
};

/// The font every figure's text is drawn with: DejaVu Sans 2.37 (Bitstream Vera license,
/// `mdn-train/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The family name the figures ask plotters for; [`FONT`] is registered under it.
const FAMILY: &str = "sans-serif";

/// The figures, in the order they are drawn. File names are `<name>.png` and `<name>.svg`.
pub const NAMES: [&str; 4] = ["density", "slices", "training", "calibration"];

/// Data points drawn on the density at most (every n-th row beyond), keeping the SVG small.
const MAX_POINTS: usize = 2000;

/// Line colours, one per slice (the Tableau 10 palette, distinguishable in colour-blind
/// simulations for the first few).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// What to draw besides the defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotOptions {
    /// Values of the varied feature for `slices` (the others at their medians); empty
    /// without rows gives the 10th, 50th and 90th percentiles of the feature's range.
    pub at: Vec<f32>,
    /// 1-based data rows whose inputs get a slice, with the observed value marked.
    pub rows: Vec<usize>,
    /// The feature to vary [default: the first].
    pub feature: Option<String>,
    /// The target to show [default: the first].
    pub target: Option<String>,
    /// The metrics CSV; an explicit file must exist. Default `<model>.metrics.csv`, and
    /// `training` is skipped when that does not exist.
    pub metrics: Option<PathBuf>,
}

/// One figure, rendered.
#[derive(Debug, Clone)]
pub struct Figure {
    /// One of [`NAMES`].
    pub name: &'static str,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// The SVG file's text.
    pub svg: String,
}

/// Everything [`render`] drew, and why anything was left out.
#[derive(Debug, Clone)]
pub struct Plots {
    /// The rendered figures, in [`NAMES`] order.
    pub figures: Vec<Figure>,
    /// `(figure, reason)` for each figure not drawn.
    pub skipped: Vec<(&'static str, String)>,
    /// The feature on the horizontal axis of `density`.
    pub feature: String,
    /// The target shown.
    pub target: String,
    /// The other features and the value each is held at.
    pub fixed: Vec<(String, f32)>,
    /// Where the held values come from.
    pub fixed_from: &'static str,
}

/// Why drawing went wrong, for [`Error::Plot`].
fn draw_error(figure: &'static str) -> impl Fn(String) -> Error {
    move |message| Error::Plot { figure, message }
}

/// Registers [`FONT`] with plotters once per process.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Plot {
            figure: "any",
            message: "the embedded font does not parse".into(),
        })
    }
}

/// How finely a figure is drawn: a bitmap takes any number of cells, while every cell is
/// an element of an SVG file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Raster,
    Vector,
}

/// The result of drawing on a backend.
type Drawn<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that can draw itself on any plotters backend.
trait Draw {
    /// Its name, one of [`NAMES`].
    const NAME: &'static str;
    /// Size in pixels.
    const SIZE: (u32, u32);
    /// Draws on `root`, which is `SIZE` large and blank.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, detail: Detail) -> Drawn<DB>;
}

/// Renders `figure` into a PNG (in memory, encoded by the `png` crate) and an SVG.
fn render_figure<F: Draw>(figure: &F) -> Result<Figure> {
    let fail = draw_error(F::NAME);
    let (w, h) = F::SIZE;
    let mut pixels = vec![255_u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&plotters::style::WHITE)
            .map_err(|e| fail(e.to_string()))?;
        figure
            .draw(&root, Detail::Raster)
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let png = encode_png(&pixels, w, h).map_err(|e| fail(e.to_string()))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&plotters::style::WHITE)
            .map_err(|e| fail(e.to_string()))?;
        figure
            .draw(&root, Detail::Vector)
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(Figure {
        name: F::NAME,
        png,
        svg,
    })
}

/// 8-bit RGB pixels, row by row, as a PNG file.
fn encode_png(
    rgb: &[u8],
    width: u32,
    height: u32,
) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// The model, the axes and the held feature values every density figure shares.
struct Setup<'m> {
    model: HostModel<'m>,
    /// The model file's name, for titles.
    model_name: String,
    /// Which values the other features are held at, for a note under the figures (empty
    /// for one feature).
    note: String,
    feature: usize,
    target: usize,
    feature_name: String,
    target_name: String,
    /// The input the varied feature is written into.
    base: Vec<f32>,
    x_range: (f32, f32),
    transform: TargetTransform,
}

impl Setup<'_> {
    /// The input with the varied feature at `v`.
    fn input(&self, v: f32) -> Vec<f32> {
        let mut x = self.base.clone();
        if let Some(slot) = x.get_mut(self.feature) {
            *slot = v;
        }
        x
    }

    /// The predictive marginal of the shown target at input `x`.
    fn marginal(&self, x: &[f32]) -> Result<Mixture<{ HostModel::CAPACITIES.components }, 1>> {
        let context = || format!("plot at x = {}", fmt_list(x));
        let mixture = self.model.mixture(x).map_err(|source| Error::Core {
            context: context(),
            source,
        })?;
        crate::calibration::marginal(&mixture, self.target).map_err(|source| Error::Core {
            context: context(),
            source,
        })
    }

    /// The smallest `p` and largest `1 - p` quantile over the inputs `xs`.
    fn quantile_span(&self, xs: &[Vec<f32>], p: f32) -> Result<(f32, f32)> {
        let mut span = (f32::INFINITY, f32::NEG_INFINITY);
        for x in xs {
            let m = self.marginal(x)?;
            let core = |source| Error::Core {
                context: format!("plot at x = {}", fmt_list(x)),
                source,
            };
            span.0 = span.0.min(m.quantile(p).map_err(core)?);
            span.1 = span.1.max(m.quantile(1.0 - p).map_err(core)?);
        }
        Ok(span)
    }

    /// Pads a target range, keeping a log target's axis at or above zero.
    fn pad_y(&self, (lo, hi): (f32, f32)) -> (f32, f32) {
        let (lo, hi) = pad(lo, hi);
        match self.transform {
            TargetTransform::Log => (lo.max(0.0), hi),
            _ => (lo, hi),
        }
    }
}

/// `lo..hi` widened by 5 % on each side (a point gets a unit-sized range).
fn pad(lo: f32, hi: f32) -> (f32, f32) {
    let span = hi - lo;
    let span = if span > 0.0 && span.is_finite() {
        span
    } else {
        lo.abs().max(1.0)
    };
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// `n` evenly spaced values from `lo` to `hi` inclusive.
fn linspace(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    let steps = n.saturating_sub(1).max(1) as f32;
    (0..n)
        .map(|i| lo + (hi - lo) * (i as f32 / steps))
        .collect()
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    match n {
        0 => f32::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => 0.5 * values[n / 2 - 1] + 0.5 * values[n / 2],
    }
}

/// The `p` quantile of sorted `values` (nearest rank).
fn percentile(sorted: &[f32], p: f64) -> f32 {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f32::NAN)
}

/// A number for a label: at most 4 significant decimals, trailing zeros dropped.
fn fmt_num(v: f32) -> String {
    let s = format!("{v:.4}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

fn fmt_list(v: &[f32]) -> String {
    v.iter().map(|&x| fmt_num(x)).collect::<Vec<_>>().join(", ")
}

/// The index of `name` in `names`, or an error listing the choices.
fn find(names: &[String], name: Option<&str>, option: &'static str) -> Result<usize> {
    let Some(name) = name else { return Ok(0) };
    names
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| Error::InvalidOption {
            option,
            expected: format!(
                "one of the model's columns: {}",
                crate::excerpt::quoted_list(names)
            ),
            found: crate::excerpt::quoted(name),
        })
}

/// Renders every figure that applies: `density`, `slices`, `training` if the metrics file
/// exists, `calibration` if `data` is given.
///
/// `data` must hold the model's columns (see [`ModelFile::load_data`]). Nothing is written.
///
/// # Errors
///
/// [`Error::InvalidOption`] for an unknown feature or target name, a row past the end of
/// `data` or a non-finite `at` value; the metrics file's read and parse errors (file, line,
/// column); [`Error::Core`] or [`Error::Plot`] for what should not happen.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// # use mdn_train::aligned::AlignedBytes;
/// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
/// let options = mdn_train::plot::PlotOptions { at: vec![0.5], ..Default::default() };
/// let plots = mdn_train::plot::render(&file, None, &options).unwrap();
/// let names: Vec<_> = plots.figures.iter().map(|f| f.name).collect();
/// assert_eq!(names, ["density", "slices"]);
/// assert!(plots.figures[0].png.starts_with(b"\x89PNG"));
/// assert!(plots.figures[0].svg.starts_with("<svg"));
/// ```
pub fn render(file: &ModelFile, data: Option<&Dataset>, options: &PlotOptions) -> Result<Plots> {
    register_font()?;
    let model = file.model()?;
    let info = ModelInfo::new(&file.blob()?);
    let feature = find(&info.features, options.feature.as_deref(), "--feature")?;
    let target = find(&info.targets, options.target.as_deref(), "--target")?;
    if let Some(&bad) = options.at.iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidOption {
            option: "--at",
            expected: "finite numbers".into(),
            found: bad.to_string(),
        });
    }
    let rows = check_rows(&options.rows, data)?;
    let metrics_path = options
        .metrics
        .clone()
        .unwrap_or_else(|| crate::io::with_suffix(&file.path, ".metrics.csv"));
    let curves = if options.metrics.is_some() || metrics_path.exists() {
        Some(training::Curves::read(&metrics_path)?)
    } else {
        None
    };

    let (base, x_range, fixed_from) = match data {
        Some(d) => {
            let column = |j: usize| -> Vec<f32> { (0..d.len()).map(|i| d.row_x(i)[j]).collect() };
            let base = (0..d.inputs()).map(|j| median(column(j))).collect();
            let xs = column(feature);
            let lo = xs.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            (base, pad(lo, hi), "medians of the data")
        }
        None => {
            let base = info
                .input_scaler
                .iter()
                .map(|s| s.offset + 0.5 * s.scale)
                .collect();
            let s = info.input_scaler.get(feature);
            let (lo, hi) = s.map_or((0.0, 1.0), |s| (s.offset, s.offset + s.scale));
            (base, pad(lo, hi), "middle of the input scaler's range")
        }
    };
    let fixed: Vec<(String, f32)> = info
        .features
        .iter()
        .zip(&base)
        .enumerate()
        .filter(|&(j, _)| j != feature)
        .map(|(_, (name, &v))| (name.clone(), v))
        .collect();
    let note = if fixed.is_empty() {
        String::new()
    } else {
        let values: Vec<String> = fixed
            .iter()
            .map(|(n, v)| format!("{n} = {}", fmt_num(*v)))
            .collect();
        format!(
            "other features at the {fixed_from}: {}",
            crate::excerpt::list(values)
        )
    };
    let transform = model.header().target_transform;
    let setup = Setup {
        model,
        model_name: file.path.file_name().map_or_else(
            || file.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        note,
        feature,
        target,
        feature_name: info.features.get(feature).cloned().unwrap_or_default(),
        target_name: info.targets.get(target).cloned().unwrap_or_default(),
        base,
        x_range,
        transform,
    };
    let mut figures = vec![render_figure(&density::Density::new(&setup, data)?)?];
    let at = if options.at.is_empty() && rows.is_empty() {
        default_at(&setup, data)
    } else {
        options.at.clone()
    };
    figures.push(render_figure(&slices::Slices::new(
        &setup, data, &at, &rows,
    )?)?);
    let mut skipped = Vec::new();
    match curves {
        Some(c) => figures.push(render_figure(&c)?),
        None => skipped.push((
            "training",
            format!("no metrics file {}", metrics_path.display()),
        )),
    }
    match data {
        Some(d) => figures.push(render_figure(&calibration::Calibration::new(
            &setup.model,
            d,
        )?)?),
        None => skipped.push(("calibration", "needs --data".into())),
    }
    Ok(Plots {
        figures,
        skipped,
        feature: setup.feature_name,
        target: setup.target_name,
        fixed,
        fixed_from,
    })
}

/// Checks 1-based `rows` against `data` and returns them 0-based.
fn check_rows(rows: &[usize], data: Option<&Dataset>) -> Result<Vec<usize>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let Some(data) = data else {
        return Err(Error::InvalidOption {
            option: "--rows",
            expected: "--data to take the rows from".into(),
            found: "no --data".into(),
        });
    };
    rows.iter()
        .map(|&r| {
            if (1..=data.len()).contains(&r) {
                Ok(r - 1)
            } else {
                Err(Error::InvalidOption {
                    option: "--rows",
                    expected: format!(
                        "1-based data rows of {}, from 1 to {}",
                        data.path.display(),
                        data.len()
                    ),
                    found: r.to_string(),
                })
            }
        })
        .collect()
}

/// The 10th, 50th and 90th percentile of the varied feature in the data, or of its range.
fn default_at(setup: &Setup<'_>, data: Option<&Dataset>) -> Vec<f32> {
    let ps = [0.1, 0.5, 0.9];
    match data {
        Some(d) => {
            let mut xs: Vec<f32> = (0..d.len()).map(|i| d.row_x(i)[setup.feature]).collect();
            xs.sort_by(f32::total_cmp);
            ps.iter().map(|&p| percentile(&xs, p)).collect()
        }
        None => {
            let (lo, hi) = setup.x_range;
            ps.iter().map(|&p| lo + (hi - lo) * p as f32).collect()
        }
    }
}

/// Writes every figure into `dir` (created if missing) as `<name>.png` and `<name>.svg`,
/// each atomically, and returns the paths.
///
/// # Errors
///
/// [`Error::Write`] naming the directory or file.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// # use mdn_train::aligned::AlignedBytes;
/// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
/// let plots = mdn_train::plot::render(&file, None, &Default::default()).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let written = mdn_train::plot::write(dir.path(), &plots).unwrap();
/// assert_eq!(written.len(), 4);
/// assert!(dir.path().join("slices.svg").exists());
/// ```
pub fn write(dir: &Path, plots: &Plots) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for figure in &plots.figures {
        let png = dir.join(format!("{}.png", figure.name));
        crate::io::write_atomic(&png, &figure.png)?;
        written.push(png);
        let svg = dir.join(format!("{}.svg", figure.name));
        crate::io::write_atomic(&svg, figure.svg.as_bytes())?;
        written.push(svg);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(linspace(0.0, 1.0, 3), [0.0, 0.5, 1.0]);
        assert_eq!(pad(0.0, 10.0), (-0.5, 10.5));
        assert_eq!(pad(2.0, 2.0), (1.9, 2.1));
        assert_eq!(fmt_num(8.0), "8");
        assert_eq!(fmt_num(-0.00001), "0");
        assert_eq!(fmt_num(1.23456), "1.2346");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5), 3.0);
    }

    #[test]
    fn the_embedded_font_registers() {
        register_font().unwrap();
        register_font().unwrap();
    }
}
