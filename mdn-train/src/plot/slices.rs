//! `slices`: `p(y|x)` at chosen inputs, each with its modes, its mean and, for a data row,
//! the observed value.

use plotters::{
    coord::Shift,
    prelude::{
        ChartBuilder, Circle, Cross, DashedLineSeries, DrawingArea, DrawingBackend, LineSeries,
        PathElement, SeriesLabelPosition, Text,
    },
    style::{BLACK, Color, RGBColor, ShapeStyle, WHITE},
};

use super::{Detail, Draw, Drawn, FAMILY, PALETTE, Setup, fmt_num, linspace};
use crate::{
    data::Dataset,
    error::{Error, Result},
    summary::{Peak, Summary},
};

/// Points of each density curve.
const CURVE_POINTS: usize = 600;

/// One input's predictive density.
struct Slice {
    label: String,
    colour: RGBColor,
    density: Vec<f32>,
    modes: Vec<Peak>,
    /// The predictive mean and the density there.
    mean: (f32, f32),
    /// The observed value, for a data row.
    observed: Option<f32>,
}

/// The figure's data, computed by mdn-core before anything is drawn.
pub(super) struct Slices {
    title: String,
    y_label: String,
    note: String,
    grid: Vec<f32>,
    slices: Vec<Slice>,
    top: f32,
}

impl Slices {
    /// Slices at the feature values `at` (the other features held) and at the data rows
    /// `rows` (0-based, already checked against `data`).
    pub(super) fn new(
        setup: &Setup<'_>,
        data: Option<&Dataset>,
        at: &[f32],
        rows: &[usize],
    ) -> Result<Self> {
        let feature = &setup.feature_name;
        let mut inputs: Vec<(String, Vec<f32>, Option<f32>)> = at
            .iter()
            .map(|&v| (format!("{feature} = {}", fmt_num(v)), setup.input(v), None))
            .collect();
        if let Some(d) = data {
            for &r in rows {
                let x = d.row_x(r).to_vec();
                let y = d.row_y(r)[setup.target];
                let shown = if x.len() == 1 {
                    format!(" ({feature} = {})", fmt_num(x[0]))
                } else {
                    String::new()
                };
                let label = format!(
                    "row {}{shown}, observed {} = {}",
                    r + 1,
                    setup.target_name,
                    fmt_num(y)
                );
                inputs.push((label, x, Some(y)));
            }
        }
        let xs: Vec<Vec<f32>> = inputs.iter().map(|(_, x, _)| x.clone()).collect();
        let (mut lo, mut hi) = setup.quantile_span(&xs, 0.001)?;
        for y in inputs.iter().filter_map(|(_, _, y)| *y) {
            lo = lo.min(y);
            hi = hi.max(y);
        }
        let (lo, hi) = setup.pad_y((lo, hi));
        let grid = linspace(lo, hi, CURVE_POINTS);

        let mut slices = Vec::with_capacity(inputs.len());
        for (i, (label, x, observed)) in inputs.into_iter().enumerate() {
            let core = |source| Error::Core {
                context: format!("slice at x = {}", super::fmt_list(&x)),
                source,
            };
            let m = setup.marginal(&x)?;
            let mut density = vec![0.0_f32; grid.len()];
            m.density_on_grid(&grid, &mut density).map_err(core)?;
            let modes = Summary::of(&m)
                .map_err(core)?
                .map_or_else(Vec::new, |s| s.modes);
            let mean = m.mean().first().copied().unwrap_or(f32::NAN);
            let at_mean = m.prob(&[mean]).unwrap_or(0.0);
            slices.push(Slice {
                label,
                colour: PALETTE[i % PALETTE.len()],
                density,
                modes,
                mean: (mean, at_mean),
                observed,
            });
        }
        let top = slices
            .iter()
            .flat_map(|s| s.density.iter().chain(s.modes.iter().map(|m| &m.density)))
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0_f32, f32::max);
        Ok(Slices {
            title: format!(
                "p({} | {}) of {}",
                setup.target_name, setup.feature_name, setup.model_name
            ),
            y_label: setup.target_name.clone(),
            // The held values matter to the `at` slices only: a row brings all its features.
            note: if at.is_empty() || setup.note.is_empty() {
                String::new()
            } else {
                format!("{} = ..: {}", setup.feature_name, setup.note)
            },
            grid,
            slices,
            // Headroom for the legend in the upper right corner.
            top: if top > 0.0 { top * 1.3 } else { 1.0 },
        })
    }
}

impl Draw for Slices {
    const NAME: &'static str = "slices";
    const SIZE: (u32, u32) = (960, 640);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Detail) -> Drawn<DB> {
        let (main, note) = root.split_vertically(Self::SIZE.1 - 46);
        let (lo, hi) = (
            self.grid.first().copied().unwrap_or(0.0),
            self.grid.last().copied().unwrap_or(1.0),
        );
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FAMILY, 22))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, 0.0_f32..self.top)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(&self.y_label)
            .y_desc("density")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 17))
            .draw()?;
        for s in &self.slices {
            let line = ShapeStyle {
                color: s.colour.to_rgba(),
                filled: false,
                stroke_width: 2,
            };
            let points = self.grid.iter().copied().zip(s.density.iter().copied());
            chart
                .draw_series(LineSeries::new(points, line))?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
            chart.draw_series(
                s.modes
                    .iter()
                    .map(|m| Circle::new((m.y, m.density), 5, s.colour.filled())),
            )?;
            if s.mean.0.is_finite() && (lo..=hi).contains(&s.mean.0) {
                let cross = ShapeStyle {
                    color: s.colour.to_rgba(),
                    filled: false,
                    stroke_width: 3,
                };
                chart.draw_series(std::iter::once(Cross::new(s.mean, 7, cross)))?;
            }
            if let Some(y) = s.observed {
                chart.draw_series(DashedLineSeries::new([(y, 0.0), (y, self.top)], 8, 6, line))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()?;
        let key =
            "dots: every mode (mdn-core); crosses: the predictive mean; dashed: the observed value";
        note.draw(&Text::new(key, (14, 2), (FAMILY, 14)))?;
        if !self.note.is_empty() {
            note.draw(&Text::new(self.note.clone(), (14, 22), (FAMILY, 14)))?;
        }
        Ok(())
    }
}
