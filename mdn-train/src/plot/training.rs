//! `training`: training and validation NLL per epoch, read from `<model>.metrics.csv`.

use std::path::Path;

use plotters::{
    coord::Shift,
    prelude::{
        ChartBuilder, DashedLineSeries, DrawingArea, DrawingBackend, LineSeries, PathElement,
        SeriesLabelPosition,
    },
    style::{BLACK, Color, RGBColor, ShapeStyle, WHITE},
};

use super::{Detail, Draw, Drawn, FAMILY, PALETTE, fmt_num};
use crate::error::{Error, Result};

/// The columns read; others (such as `seconds`) are ignored.
const EPOCH: &str = "epoch";
const TRAIN: &str = "train_nll";
const VALIDATION: &str = "val_nll";

/// The per-epoch curves of one training run.
#[derive(Debug)]
pub(super) struct Curves {
    file_name: String,
    train: Vec<(f64, f64)>,
    validation: Vec<(f64, f64)>,
}

/// A cell as a finite number, or `None` if empty; the error names file, line and column.
fn number(path: &Path, line: u64, column: &str, index: usize, cell: &str) -> Result<Option<f64>> {
    if cell.is_empty() {
        return Ok(None);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(Error::BadCell {
            path: path.to_path_buf(),
            line,
            column: column.to_owned(),
            index: index + 1,
            expected: "a finite number",
            found: crate::excerpt::quoted(cell),
        }),
    }
}

impl Curves {
    /// Reads a metrics CSV as `mdn train` writes it: a header with `epoch`, `train_nll`
    /// and optionally `val_nll` (empty cells without validation), one row per epoch.
    pub(super) fn read(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(file);
        let csv_error = |e: csv::Error| Error::Csv {
            path: path.to_path_buf(),
            line: e.position().map_or(1, csv::Position::line),
            message: e.to_string(),
        };
        let header = reader.headers().map_err(csv_error)?.clone();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_owned(),
                    role: "metrics",
                    available: header.iter().map(str::to_owned).collect(),
                    separated_by: None,
                })
        };
        let (epoch, train) = (column(EPOCH)?, column(TRAIN)?);
        let validation = column(VALIDATION).ok();
        let mut curves = Curves {
            file_name: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            train: Vec::new(),
            validation: Vec::new(),
        };
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, csv::Position::line);
            let cell = |i: usize, name: &str| -> Result<Option<f64>> {
                number(path, line, name, i, record.get(i).unwrap_or(""))
            };
            let required = |i: usize, name: &str| -> Result<f64> {
                cell(i, name)?.ok_or_else(|| Error::BadCell {
                    path: path.to_path_buf(),
                    line,
                    column: name.to_owned(),
                    index: i + 1,
                    expected: "a finite number",
                    found: "an empty cell".into(),
                })
            };
            let e = required(epoch, EPOCH)?;
            curves.train.push((e, required(train, TRAIN)?));
            if let Some(v) = validation
                && let Some(nll) = cell(v, VALIDATION)?
            {
                curves.validation.push((e, nll));
            }
        }
        if curves.train.is_empty() {
            return Err(Error::TooFewRows {
                path: path.to_path_buf(),
                found: 0,
                min: 1,
            });
        }
        Ok(curves)
    }

    /// The epoch with the lowest validation NLL, if there is validation.
    fn best(&self) -> Option<(f64, f64)> {
        self.validation
            .iter()
            .copied()
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The NLL axis: from the lowest value to the 98th percentile, so that the first
    /// epochs' large losses do not flatten the rest.
    fn nll_range(&self) -> (f64, f64) {
        let mut all: Vec<f64> = self
            .train
            .iter()
            .chain(&self.validation)
            .map(|p| p.1)
            .collect();
        all.sort_by(f64::total_cmp);
        let lo = all.first().copied().unwrap_or(0.0);
        let i = ((all.len().saturating_sub(1)) as f64 * 0.98).round() as usize;
        let hi = all.get(i).copied().unwrap_or(lo + 1.0);
        let span = if hi > lo { hi - lo } else { 1.0 };
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

impl Draw for Curves {
    const NAME: &'static str = "training";
    const SIZE: (u32, u32) = (960, 560);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Detail) -> Drawn<DB> {
        let last = self.train.iter().map(|p| p.0).fold(1.0, f64::max);
        let (lo, hi) = self.nll_range();
        let mut chart = ChartBuilder::on(root)
            .caption(format!("NLL per epoch ({})", self.file_name), (FAMILY, 22))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..last.max(2.0), lo..hi)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("epoch")
            .y_desc("NLL, nats per row (original units)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| fmt_num(*v as f32))
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 17))
            .draw()?;
        let style = |c: RGBColor| ShapeStyle {
            color: c.to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        let clip = |&(e, v): &(f64, f64)| (e, v.min(hi));
        let (train, validation) = (style(PALETTE[0]), style(PALETTE[1]));
        chart
            .draw_series(LineSeries::new(self.train.iter().map(clip), train))?
            .label("training")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], train));
        if !self.validation.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    self.validation.iter().map(clip),
                    validation,
                ))?
                .label("validation")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], validation));
        }
        if let Some((epoch, nll)) = self.best() {
            let mark = style(RGBColor(90, 90, 90));
            chart
                .draw_series(DashedLineSeries::new(
                    [(epoch, lo), (epoch, hi)],
                    6,
                    5,
                    mark,
                ))?
                .label(format!(
                    "lowest validation NLL {} at epoch {epoch:.0}",
                    fmt_num(nll as f32)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], mark));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_train_writes_and_names_bad_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.mdn.metrics.csv");
        std::fs::write(
            &path,
            "epoch,train_nll,val_nll,seconds\n1,2.5,2.6,0.1\n2,2.0,2.2,0.1\n",
        )
        .unwrap();
        let c = Curves::read(&path).unwrap();
        assert_eq!(c.train, [(1.0, 2.5), (2.0, 2.0)]);
        assert_eq!(c.best(), Some((2.0, 2.2)));

        std::fs::write(&path, "epoch,train_nll,val_nll,seconds\n1,2.5,,0.1\n").unwrap();
        assert!(Curves::read(&path).unwrap().validation.is_empty());

        std::fs::write(
            &path,
            "epoch,train_nll,val_nll,seconds\n1,2.5,,0.1\n2,abc,,0.1\n",
        )
        .unwrap();
        let e = Curves::read(&path).unwrap_err().to_string();
        assert!(e.contains("line 3, column 2 `train_nll`"), "{e}");

        std::fs::write(&path, "epoch,loss\n1,2\n").unwrap();
        let e = Curves::read(&path).unwrap_err().to_string();
        assert!(e.contains("`train_nll`"), "{e}");
    }
}
