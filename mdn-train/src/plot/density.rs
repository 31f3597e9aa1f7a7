//! `density`: `p(y|x)` over one feature and the target as a heatmap, with the data on top
//! and the predictive mean as a line.

use plotters::{
    coord::Shift,
    prelude::{
        ChartBuilder, Circle, ColorMap, DrawingArea, DrawingBackend, LineSeries, PathElement,
        Rectangle, SeriesLabelPosition, Text, ViridisRGB,
    },
    style::{BLACK, Color, RGBColor, ShapeStyle, WHITE},
};

use super::{Detail, Draw, Drawn, FAMILY, MAX_POINTS, Setup, fmt_num, linspace};
use crate::{
    data::Dataset,
    error::{Error, Result},
};

/// Colour of the mean line.
const MEAN_COLOUR: RGBColor = RGBColor(255, 120, 30);

/// Heatmap cells along x and y: fine for the bitmap, coarse for the SVG, where each run
/// of equal colour is one element.
const RASTER_CELLS: (usize, usize) = (320, 240);
const VECTOR_CELLS: (usize, usize) = (120, 90);

/// Colour levels: the SVG merges horizontally adjacent cells of one level.
const RASTER_LEVELS: f32 = 255.0;
const VECTOR_LEVELS: f32 = 48.0;

/// Columns of the mean line.
const MEAN_POINTS: usize = 240;

/// Densities on a grid of cells: `values[ix * ny + iy]` at the centre of cell `(ix, iy)`.
struct Grid {
    x_edges: Vec<f32>,
    y_edges: Vec<f32>,
    values: Vec<f32>,
}

impl Grid {
    fn new(setup: &Setup<'_>, y_range: (f32, f32), (nx, ny): (usize, usize)) -> Result<Self> {
        let x_edges = linspace(setup.x_range.0, setup.x_range.1, nx + 1);
        let y_edges = linspace(y_range.0, y_range.1, ny + 1);
        let centres =
            |e: &[f32]| -> Vec<f32> { e.windows(2).map(|w| 0.5 * w[0] + 0.5 * w[1]).collect() };
        let y_centres = centres(&y_edges);
        let mut values = vec![0.0_f32; nx * ny];
        for (column, &x) in values.chunks_exact_mut(ny).zip(&centres(&x_edges)) {
            let input = setup.input(x);
            setup
                .marginal(&input)?
                .density_on_grid(&y_centres, column)
                .map_err(|source| Error::Core {
                    context: format!("density at x = {}", super::fmt_list(&input)),
                    source,
                })?;
        }
        Ok(Grid {
            x_edges,
            y_edges,
            values,
        })
    }
}

/// The figure's data, computed by mdn-core before anything is drawn.
pub(super) struct Density {
    title: String,
    note: String,
    x_label: String,
    y_label: String,
    x_range: (f32, f32),
    y_range: (f32, f32),
    raster: Grid,
    vector: Grid,
    /// The largest density on the raster grid: the top of the colour scale.
    top: f32,
    mean: Vec<(f32, f32)>,
    points: Vec<(f32, f32)>,
}

impl Density {
    pub(super) fn new(setup: &Setup<'_>, data: Option<&Dataset>) -> Result<Self> {
        let points: Vec<(f32, f32)> = data.map_or_else(Vec::new, |d| {
            let stride = d.len().div_ceil(MAX_POINTS).max(1);
            (0..d.len())
                .step_by(stride)
                .map(|i| (d.row_x(i)[setup.feature], d.row_y(i)[setup.target]))
                .collect()
        });
        let y_range = match data {
            Some(d) => {
                let ys = (0..d.len()).map(|i| d.row_y(i)[setup.target]);
                let lo = ys.clone().fold(f32::INFINITY, f32::min);
                let hi = ys.fold(f32::NEG_INFINITY, f32::max);
                setup.pad_y((lo, hi))
            }
            None => {
                let xs: Vec<Vec<f32>> = linspace(setup.x_range.0, setup.x_range.1, 41)
                    .into_iter()
                    .map(|v| setup.input(v))
                    .collect();
                setup.pad_y(setup.quantile_span(&xs, 0.005)?)
            }
        };
        let raster = Grid::new(setup, y_range, RASTER_CELLS)?;
        let vector = Grid::new(setup, y_range, VECTOR_CELLS)?;
        let top = raster
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0_f32, f32::max);
        let mut mean = Vec::with_capacity(MEAN_POINTS);
        for x in linspace(setup.x_range.0, setup.x_range.1, MEAN_POINTS) {
            let m = setup.marginal(&setup.input(x))?.mean();
            mean.push((x, m.first().copied().unwrap_or(f32::NAN)));
        }
        Ok(Density {
            title: format!(
                "p({} | {}) of {}",
                setup.target_name, setup.feature_name, setup.model_name
            ),
            note: setup.note.clone(),
            x_label: setup.feature_name.clone(),
            y_label: setup.target_name.clone(),
            x_range: setup.x_range,
            y_range,
            raster,
            vector,
            top: if top > 0.0 { top } else { 1.0 },
            mean,
            points,
        })
    }

    /// The colour of a density: viridis of `sqrt(p / top)`, so that wide, low branches
    /// stay visible next to narrow, high ones, quantised to `levels` steps.
    fn colour(&self, p: f32, levels: f32) -> RGBColor {
        ViridisRGB.get_color(self.level(p, levels) / levels)
    }

    fn level(&self, p: f32, levels: f32) -> f32 {
        let t = (p / self.top).clamp(0.0, 1.0).sqrt();
        (t * levels).round()
    }

    fn colour_bar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut bar = ChartBuilder::on(area)
            .margin_top(50)
            .margin_bottom(84)
            .margin_left(4)
            .right_y_label_area_size(70)
            .build_cartesian_2d(0.0_f32..1.0, 0.0_f32..self.top)?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(6)
            .y_label_formatter(&|v| fmt_num(*v))
            .y_desc("density")
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()?;
        let steps = 64;
        bar.draw_series((0..steps).map(|i| {
            let lo = self.top * i as f32 / steps as f32;
            let hi = self.top * (i + 1) as f32 / steps as f32;
            let colour = self.colour(0.5 * lo + 0.5 * hi, RASTER_LEVELS);
            Rectangle::new([(0.0, lo), (1.0, hi)], colour.filled())
        }))?;
        Ok(())
    }
}

impl Draw for Density {
    const NAME: &'static str = "density";
    const SIZE: (u32, u32) = (960, 660);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, detail: Detail) -> Drawn<DB> {
        let (main, bar) = root.split_horizontally(Self::SIZE.0 - 110);
        let (main, note) = main.split_vertically(Self::SIZE.1 - 26);
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FAMILY, 22))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 17))
            .draw()?;

        let (grid, levels) = match detail {
            Detail::Raster => (&self.raster, RASTER_LEVELS),
            Detail::Vector => (&self.vector, VECTOR_LEVELS),
        };
        let (nx, ny) = (grid.x_edges.len() - 1, grid.y_edges.len() - 1);
        let level = |ix: usize, iy: usize| self.level(grid.values[ix * ny + iy], levels);
        let mut cells = Vec::new();
        for iy in 0..ny {
            let mut start = 0;
            for ix in 1..=nx {
                if ix == nx || level(ix, iy) != level(start, iy) {
                    let colour = ViridisRGB.get_color(level(start, iy) / levels);
                    cells.push(Rectangle::new(
                        [
                            (grid.x_edges[start], grid.y_edges[iy]),
                            (grid.x_edges[ix], grid.y_edges[iy + 1]),
                        ],
                        colour.filled(),
                    ));
                    start = ix;
                }
            }
        }
        chart.draw_series(cells)?;

        if !self.points.is_empty() {
            let style = WHITE.mix(0.55).filled();
            chart
                .draw_series(self.points.iter().map(|&p| Circle::new(p, 2, style)))?
                .label("data")
                .legend(|(x, y)| Circle::new((x + 10, y), 3, BLACK.mix(0.5).filled()));
        }
        // The mean line, broken where it leaves the plotted range.
        let inside = |&(_, m): &(f32, f32)| m.is_finite() && (y0..=y1).contains(&m);
        let mean_style = ShapeStyle {
            color: MEAN_COLOUR.to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        let mut labelled = false;
        for run in self.mean.split(|p| !inside(p)).filter(|r| r.len() > 1) {
            let series = chart.draw_series(LineSeries::new(run.iter().copied(), mean_style))?;
            if !labelled {
                series
                    .label("predictive mean")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], mean_style));
                labelled = true;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()?;
        if !self.note.is_empty() {
            note.draw(&Text::new(self.note.clone(), (14, 2), (FAMILY, 14)))?;
        }
        self.colour_bar(&bar)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_rise_with_density() {
        use plotters::prelude::{ColorMap, ViridisRGB};
        let low = ViridisRGB.get_color(0.0_f32);
        let high = ViridisRGB.get_color(1.0_f32);
        // Viridis runs from dark purple to yellow.
        assert!(u32::from(high.0) + u32::from(high.1) > u32::from(low.0) + u32::from(low.1));
    }
}
