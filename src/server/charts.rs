//! Charts for the snapshot pages, rendered on the server as SVG by `plotters`.
//!
//! A chart is an inline `<svg>` that needs no script, font file or other host: text is SVG
//! `<text>` in the reader's sans-serif font (plotters is built without font support, so it
//! only estimates text widths, which is all a layout needs). Each chart gets a `<title>` and a
//! `<desc>` that say in words what it shows, and `role="img"`, so a screen reader announces
//! it; the page adds the figures as a table beside it.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;

/// A chart that could not be drawn (plotters reports layout failures, e.g. a label area
/// larger than the chart).
#[derive(Debug, thiserror::Error)]
#[error("chart {chart:?} could not be drawn: {reason}")]
pub struct ChartError {
    chart: String,
    reason: String,
}

/// Colours told apart also by readers with the common colour-vision deficiencies (Paul Tol's
/// "muted" scheme, then colours of his "vibrant" one and greys), cycled when there are more
/// series.
const PALETTE: [RGBColor; 14] = [
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0x88, 0xCC, 0xEE),
    RGBColor(0x44, 0xAA, 0x99),
    RGBColor(0x11, 0x77, 0x33),
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0xDD, 0xCC, 0x77),
    RGBColor(0xCC, 0x66, 0x77),
    RGBColor(0x88, 0x22, 0x55),
    RGBColor(0xAA, 0x44, 0x99),
    RGBColor(0x44, 0x77, 0xAA),
    RGBColor(0xEE, 0x77, 0x33),
    RGBColor(0x55, 0x55, 0x55),
    RGBColor(0x00, 0x77, 0xBB),
    RGBColor(0xBB, 0xBB, 0xBB),
];

const FONT: &str = "sans-serif";

/// How a chart's series are laid out, which decides their colours: stacked segments take
/// neighbouring colours of the palette, side-by-side bars colours far apart.
#[derive(Clone, Copy)]
pub enum Layout {
    Stacked,
    SideBySide,
}

/// The colour of the n-th series.
pub fn series_colour(n: usize, layout: Layout) -> RGBColor {
    let step = match layout {
        Layout::Stacked => 1,
        Layout::SideBySide => 3,
    };
    PALETTE[(n * step) % PALETTE.len()]
}

/// The chart's legend as HTML (text a reader can select, and room the plot keeps): a swatch
/// of each series' colour and its name.
pub fn legend(series: &[String], layout: Layout) -> String {
    let mut html = String::from("<ul class=\"legend\">");
    for (n, name) in series.iter().enumerate() {
        let RGBColor(r, g, b) = series_colour(n, layout);
        let _ = write!(
            html,
            "<li><span class=\"swatch\" style=\"background:#{r:02x}{g:02x}{b:02x}\"></span>{}</li>",
            escape(name)
        );
    }
    html.push_str("</ul>");
    html
}

/// What every chart has: an id for its title and description, the words, the size in px.
pub struct Frame<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The chart in words, for readers who cannot see it.
    pub description: &'a str,
    pub width: u32,
    pub height: u32,
}

/// One stack of a stacked bar chart: a label on the axis and (series, value) segments.
pub struct Stack {
    pub label: String,
    pub segments: Vec<(usize, u32)>,
}

/// Vertical stacked bars (e.g. measures started per month, stacked by category).
/// `series` names the segments, in legend order (see [`legend`]).
pub fn stacked_bars(
    frame: &Frame,
    stacks: &[Stack],
    series: &[String],
    y_label: &str,
) -> Result<String, ChartError> {
    let max = stacks
        .iter()
        .map(|s| s.segments.iter().map(|(_, v)| v).sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = stacks.len().max(1);
    draw(frame, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..f64::from(max) * 1.08)
            .map_err(text)?;
        let labels: Vec<&str> = stacks.iter().map(|s| s.label.as_str()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(12))
            .x_label_formatter(&|v| index_label(&labels, *v))
            .y_labels(5)
            .y_label_formatter(&|v| whole(*v))
            .y_desc(y_label)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(text)?;
        for s in 0..series.len() {
            let mut rects = vec![];
            for (i, stack) in stacks.iter().enumerate() {
                let below: u32 = stack
                    .segments
                    .iter()
                    .take_while(|(k, _)| *k != s)
                    .map(|(_, v)| v)
                    .sum();
                if let Some((_, v)) = stack.segments.iter().find(|(k, _)| *k == s) {
                    let x = i as f64;
                    rects.push(Rectangle::new(
                        [(x - 0.4, f64::from(below)), (x + 0.4, f64::from(below + v))],
                        series_colour(s, Layout::Stacked).filled(),
                    ));
                }
            }
            if rects.is_empty() {
                continue;
            }
            chart.draw_series(rects).map_err(text)?;
        }
        Ok(())
    })
}

/// Horizontal bars, one or more per row (e.g. two series side by side per theme), first row
/// at the top. `rows` are (label, one value per series).
pub fn horizontal_bars(
    frame: &Frame,
    rows: &[(String, Vec<u32>)],
    series: &[String],
    x_label: &str,
    label_width: u32,
) -> Result<String, ChartError> {
    let max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = rows.len().max(1);
    let per = series.len().max(1) as f64;
    draw(frame, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .x_label_area_size(30)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..f64::from(max) * 1.1, -0.5f64..n as f64 - 0.5)
            .map_err(text)?;
        // Row 0 is drawn at the top: position = n - 1 - row.
        let labels: Vec<&str> = rows.iter().rev().map(|(l, _)| l.as_str()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| index_label(&labels, *v))
            .x_labels(5)
            .x_label_formatter(&|v| whole(*v))
            .x_desc(x_label)
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(text)?;
        for s in 0..series.len() {
            let bars = rows.iter().enumerate().filter_map(|(row, (_, values))| {
                let v = *values.get(s)?;
                let centre = (n - 1 - row) as f64;
                let top = centre + 0.4 - 0.8 * s as f64 / per;
                let bottom = top - 0.8 / per;
                Some(Rectangle::new(
                    [(0.0, bottom), (f64::from(v), top)],
                    series_colour(s, Layout::SideBySide).filled(),
                ))
            });
            chart.draw_series(bars).map_err(text)?;
        }
        Ok(())
    })
}

/// A label for an axis position: the row or column whose centre it is, or nothing between
/// centres (plotters asks for "nice" positions, which may fall between bars).
fn index_label(labels: &[&str], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    labels
        .get(i as usize)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Counts are whole: an axis never shows "2.5 measures".
fn whole(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws on an SVG canvas of the frame's size and returns the accessible `<svg>` element.
fn draw(
    frame: &Frame,
    paint: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, ChartError> {
    let fail = |reason: String| ChartError {
        chart: frame.title.to_owned(),
        reason,
    };
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        paint(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(accessible(frame, &svg))
}

/// Adds what plotters does not write: the role, the title and the description, and a size
/// that follows the page (the drawing keeps its proportions through its viewBox).
fn accessible(frame: &Frame, svg: &str) -> String {
    let Some(open_end) = svg.find('>') else {
        return svg.to_owned();
    };
    let (open, rest) = svg.split_at(open_end);
    let open = open
        .replacen(&format!("width=\"{}\"", frame.width), "width=\"100%\"", 1)
        .replacen(&format!("height=\"{}\"", frame.height), "", 1);
    let mut out = String::with_capacity(svg.len() + 256);
    let _ = write!(
        out,
        "{open} role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMidYMid meet\"",
        id = frame.id
    );
    out.push('>');
    let _ = write!(
        out,
        "<title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(frame.title),
        escape(frame.description),
        id = frame.id
    );
    out.push_str(&rest[1..]);
    out
}

fn escape(s: &str) -> String {
    super::graphiql::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame<'static> {
        Frame {
            id: "c1",
            title: "Measures per month",
            description: "3 measures in 2 months",
            width: 600,
            height: 240,
        }
    }

    #[test]
    fn a_chart_is_an_svg_with_a_title_a_description_and_no_outside_reference() {
        let svg = stacked_bars(
            &frame(),
            &[
                Stack {
                    label: "2020-03".into(),
                    segments: vec![(0, 2)],
                },
                Stack {
                    label: "2020-04".into(),
                    segments: vec![(0, 1), (1, 1)],
                },
            ],
            &["HEALTH".into(), "MOVEMENT & <more>".into()],
            "measures",
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg:.200}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"c1-title\">Measures per month</title>"));
        assert!(svg.contains("<desc id=\"c1-desc\">3 measures in 2 months</desc>"));
        assert!(svg.contains("viewBox=\"0 0 600 240\""));
        assert!(svg.contains("2020-03") && svg.contains("2020-04"));
        let legend = legend(
            &["HEALTH".into(), "MOVEMENT & <more>".into()],
            Layout::Stacked,
        );
        assert!(
            legend.contains("MOVEMENT &amp; &lt;more&gt;"),
            "legend text is escaped"
        );
        assert!(legend.contains("background:#332288") && legend.contains("background:#88ccee"));
        assert!(
            !svg.contains("href") && !svg.contains("url("),
            "no outside reference"
        );
    }

    #[test]
    fn horizontal_bars_label_every_row_and_draw_a_bar_per_value() {
        let svg = horizontal_bars(
            &frame(),
            &[
                ("right-to-health".into(), vec![5, 2]),
                ("education".into(), vec![3, 0]),
            ],
            &["supported".into(), "implemented".into()],
            "recommendations",
            150,
        )
        .unwrap();
        assert!(svg.contains("right-to-health") && svg.contains("education"));
        // A background and four bars (a zero-length one included) are rectangles.
        assert!(svg.matches("<rect").count() >= 5, "{svg}");
    }

    #[test]
    fn an_empty_chart_still_draws_its_axes() {
        let svg = stacked_bars(&frame(), &[], &[], "measures").unwrap();
        assert!(svg.contains("<title id=\"c1-title\">"));
    }
}
