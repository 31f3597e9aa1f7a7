//! `calibration`: the PIT histogram and the coverage of central intervals against their
//! nominal levels, with the range a calibrated model reaches by chance.

use mdn_core::HostModel;
use plotters::{
    coord::Shift,
    prelude::{
        ChartBuilder, Circle, DashedLineSeries, DrawingArea, DrawingBackend, IntoFont as _,
        LineSeries, PathElement, Rectangle, Text,
    },
    style::{BLACK, Color, RGBColor, ShapeStyle, WHITE},
};

use super::{Detail, Draw, Drawn, FAMILY, PALETTE, fmt_num};
use crate::{
    calibration::{LEVELS, PIT_BINS},
    data::Dataset,
    error::Result,
};

/// The band a calibrated model stays within by chance.
const BAND: RGBColor = RGBColor(200, 200, 200);

/// The figure's data, from [`crate::eval::evaluate`] (mdn-core's `cdf` and `interval`).
pub(super) struct Calibration {
    note: String,
    histogram: [f64; PIT_BINS],
    coverage: [f64; LEVELS.len()],
    /// Two binomial standard errors around a flat bin and around each level.
    bin_band: f64,
    level_bands: [f64; LEVELS.len()],
}

impl Calibration {
    pub(super) fn new(model: &HostModel<'_>, data: &Dataset) -> Result<Self> {
        let c = crate::eval::evaluate(model, data)?.calibration;
        let file = data
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let pooled = if data.outputs() > 1 {
            format!(", pooled over {} targets' marginals", data.outputs())
        } else {
            String::new()
        };
        Ok(Calibration {
            note: format!(
                "{} values of {file}{pooled}; grey: where a calibrated model lands 95% of the time",
                c.values()
            ),
            histogram: c.pit_histogram().unwrap_or_default(),
            coverage: c.coverage().unwrap_or_default(),
            bin_band: c.chance_band(1.0 / PIT_BINS as f64),
            level_bands: LEVELS.map(|l| c.chance_band(f64::from(l))),
        })
    }

    fn histogram<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let flat = 1.0 / PIT_BINS as f64;
        let top = self
            .histogram
            .iter()
            .copied()
            .fold(flat + self.bin_band, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption("PIT histogram: flat when calibrated", (FAMILY, 19))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..1.0, 0.0..top)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("PIT = F(y | x) at the observed y")
            .y_desc("fraction of values")
            .x_label_formatter(&|v| fmt_num(*v as f32))
            .y_label_formatter(&|v| fmt_num(*v as f32))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, flat - self.bin_band), (1.0, flat + self.bin_band)],
            BAND.mix(0.6).filled(),
        )))?;
        chart.draw_series(self.histogram.iter().enumerate().map(|(b, &h)| {
            let x0 = b as f64 / PIT_BINS as f64;
            let x1 = (b + 1) as f64 / PIT_BINS as f64;
            Rectangle::new([(x0 + 0.004, 0.0), (x1 - 0.004, h)], PALETTE[0].filled())
        }))?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, flat), (1.0, flat)],
            8,
            5,
            BLACK.stroke_width(1),
        ))?;
        Ok(())
    }

    fn coverage<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut chart = ChartBuilder::on(area)
            .caption("Coverage of central intervals", (FAMILY, 19))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("nominal level")
            .y_desc("fraction of observed y inside")
            .x_label_formatter(&|v| fmt_num(*v as f32))
            .y_label_formatter(&|v| fmt_num(*v as f32))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .draw()?;
        let diagonal = ShapeStyle {
            color: BLACK.to_rgba(),
            filled: false,
            stroke_width: 1,
        };
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                diagonal,
            ))?
            .label("calibrated")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], diagonal));
        let band = ShapeStyle {
            color: BAND.to_rgba(),
            filled: true,
            stroke_width: 10,
        };
        for (&level, &b) in LEVELS.iter().zip(&self.level_bands) {
            let l = f64::from(level);
            chart.draw_series(LineSeries::new([(l, l - b), (l, l + b)], band))?;
        }
        let point = PALETTE[1];
        chart
            .draw_series(
                LEVELS
                    .iter()
                    .zip(&self.coverage)
                    .map(|(&l, &c)| Circle::new((f64::from(l), c), 6, point.filled())),
            )?
            .label("observed")
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, point.filled()));
        for (&l, &c) in LEVELS.iter().zip(&self.coverage) {
            let text = format!("{:.0}%: {:.1}%", f64::from(l) * 100.0, c * 100.0);
            chart.draw_series(std::iter::once(Text::new(
                text,
                (f64::from(l) - 0.2, c + 0.06),
                (FAMILY, 14).into_font(),
            )))?;
        }
        chart
            .configure_series_labels()
            .position(plotters::prelude::SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()?;
        Ok(())
    }
}

impl Draw for Calibration {
    const NAME: &'static str = "calibration";
    const SIZE: (u32, u32) = (1100, 520);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Detail) -> Drawn<DB> {
        let (top, note) = root.split_vertically(Self::SIZE.1 - 28);
        let (left, right) = top.split_horizontally(Self::SIZE.0 / 2);
        self.histogram(&left)?;
        self.coverage(&right)?;
        note.draw(&Text::new(self.note.clone(), (14, 4), (FAMILY, 14)))?;
        Ok(())
    }
}
