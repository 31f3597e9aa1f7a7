//! Least squares with non-negative coefficients, for fitting the device cost model's
//! per-operation costs to QEMU counts (`figures --calibrate`).
//!
//! A cost per operation cannot be negative; an unconstrained fit to a few dozen models
//! finds negative ones for features that move together, which then make predictions fall
//! as a model grows. With every coefficient at least zero, a prediction grows with every
//! count, and a feature the data do not need is left at zero.

/// The coefficients `c >= 0` that minimise `sum_r (rows[r] . c - targets[r])^2`
/// (Lawson and Hanson's active-set method, 1974), or `None` for rows of unequal length,
/// fewer rows than columns, or a step whose free columns are linearly dependent.
///
/// # Examples
///
/// ```
/// // y = 2 + 3 x: both coefficients positive, found exactly.
/// let rows = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
/// let c = mdn_benches::non_negative_least_squares(&rows, &[2.0, 5.0, 8.0]).unwrap();
/// assert!((c[0] - 2.0).abs() < 1e-9 && (c[1] - 3.0).abs() < 1e-9);
/// // y = 5 - x: the slope would be negative, so it stays at zero.
/// let c = mdn_benches::non_negative_least_squares(&rows, &[5.0, 4.0, 3.0]).unwrap();
/// assert!((c[0] - 4.0).abs() < 1e-9 && c[1] == 0.0);
/// ```
pub fn non_negative_least_squares(rows: &[Vec<f64>], targets: &[f64]) -> Option<Vec<f64>> {
    let p = rows.first().map_or(0, Vec::len);
    if rows.len() < p || targets.len() != rows.len() || rows.iter().any(|r| r.len() != p) {
        return None;
    }
    // Columns of unit length, so that one tolerance serves every feature.
    let scales: Vec<f64> = (0..p)
        .map(|j| norm(&rows.iter().map(|r| r[j]).collect::<Vec<_>>()).max(f64::MIN_POSITIVE))
        .collect();
    let scaled: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&scales).map(|(v, s)| v / s).collect())
        .collect();
    let tolerance = 1e-10 * norm(targets).max(1.0);
    let mut x = vec![0.0; p];
    let mut free = vec![false; p];
    // Each outer step frees one more column; bounded so a degenerate case cannot loop.
    for _ in 0..3 * p + 3 {
        let residual: Vec<f64> = scaled
            .iter()
            .zip(targets)
            .map(|(r, t)| t - dot(r, &x))
            .collect();
        let gradient: Vec<f64> = (0..p)
            .map(|j| scaled.iter().zip(&residual).map(|(r, e)| r[j] * e).sum())
            .collect();
        let candidate = (0..p)
            .filter(|&j| !free[j] && gradient[j] > tolerance)
            .max_by(|&a, &b| gradient[a].total_cmp(&gradient[b]));
        let Some(entering) = candidate else {
            return Some(x.iter().zip(&scales).map(|(c, s)| c / s).collect());
        };
        free[entering] = true;
        loop {
            let columns: Vec<usize> = (0..p).filter(|&j| free[j]).collect();
            let sub: Vec<Vec<f64>> = scaled
                .iter()
                .map(|r| columns.iter().map(|&j| r[j]).collect())
                .collect();
            let solution = least_squares(&sub, targets)?;
            if solution.iter().all(|&v| v > 0.0) {
                for (&j, v) in columns.iter().zip(solution) {
                    x[j] = v;
                }
                break;
            }
            // Step from x towards the solution until the first coefficient reaches zero,
            // and hold the ones that did at zero.
            let alpha = columns
                .iter()
                .zip(&solution)
                .filter(|&(_, &s)| s <= 0.0)
                .map(|(&j, &s)| x[j] / (x[j] - s))
                .fold(1.0, f64::min);
            for (&j, &s) in columns.iter().zip(&solution) {
                x[j] += alpha * (s - x[j]);
                if x[j] <= tolerance {
                    x[j] = 0.0;
                    free[j] = false;
                }
            }
        }
    }
    None
}

/// The unconstrained coefficients `c` that minimise `sum_r (rows[r] . c - targets[r])^2`,
/// or `None` if the columns are linearly dependent (or there are fewer rows than columns).
///
/// Solved by a QR decomposition (modified Gram-Schmidt) of the columns scaled to unit
/// length: the counts the cost model fits span five orders of magnitude, whose normal
/// equations would lose most of `f64`'s digits.
fn least_squares(rows: &[Vec<f64>], targets: &[f64]) -> Option<Vec<f64>> {
    let n = rows.len();
    let p = rows.first().map_or(0, Vec::len);
    if n < p || targets.len() != n || rows.iter().any(|r| r.len() != p) {
        return None;
    }
    let mut columns: Vec<Vec<f64>> = (0..p)
        .map(|j| rows.iter().map(|r| r[j]).collect())
        .collect();
    let scales: Vec<f64> = columns.iter().map(|c| norm(c)).collect();
    if scales.contains(&0.0) {
        return None;
    }
    for (column, scale) in columns.iter_mut().zip(&scales) {
        column.iter_mut().for_each(|v| *v /= scale);
    }
    // Q overwrites the columns; R is upper triangular.
    let mut r = vec![vec![0.0; p]; p];
    for j in 0..p {
        for i in 0..j {
            let dot = dot(&columns[i], &columns[j]);
            r[i][j] = dot;
            let (done, rest) = columns.split_at_mut(j);
            for (v, q) in rest[0].iter_mut().zip(&done[i]) {
                *v -= dot * q;
            }
        }
        let length = norm(&columns[j]);
        // A column that is (almost) a combination of the earlier ones.
        if length < 1e-10 {
            return None;
        }
        r[j][j] = length;
        columns[j].iter_mut().for_each(|v| *v /= length);
    }
    let qt_b: Vec<f64> = columns.iter().map(|q| dot(q, targets)).collect();
    let mut c = vec![0.0; p];
    for j in (0..p).rev() {
        let tail: f64 = (j + 1..p).map(|k| r[j][k] * c[k]).sum();
        c[j] = (qt_b[j] - tail) / r[j][j];
    }
    Some(c.iter().zip(&scales).map(|(c, s)| c / s).collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_overdetermined_fit() {
        // y = 1 + 1000 a - 0.5 b with columns of very different sizes, plus noise that
        // averages out: the residual is orthogonal to the columns.
        let rows: Vec<Vec<f64>> = (0..20)
            .map(|i| vec![1.0, f64::from(i) * 1e4, f64::from(i * i % 7)])
            .collect();
        let noise = |i: usize| if i.is_multiple_of(2) { 1e-3 } else { -1e-3 };
        let targets: Vec<f64> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| 1.0 + 1000.0 * r[1] - 0.5 * r[2] + noise(i))
            .collect();
        let c = least_squares(&rows, &targets).unwrap();
        assert!((c[1] - 1000.0).abs() < 1e-6, "{c:?}");
        assert!((c[2] + 0.5).abs() < 1e-3, "{c:?}");
        let residual: Vec<f64> = rows
            .iter()
            .zip(&targets)
            .map(|(r, t)| t - dot(r, &c))
            .collect();
        for j in 0..3 {
            let column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            assert!(dot(&column, &residual).abs() < 1e-6 * norm(&column));
        }
    }

    #[test]
    fn refuses_too_few_rows_and_dependent_columns() {
        assert!(least_squares(&[vec![1.0, 2.0]], &[1.0]).is_none());
        let dependent = [vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]];
        assert!(least_squares(&dependent, &[1.0, 2.0, 3.0]).is_none());
    }

    #[test]
    fn non_negative_fit_keeps_the_optimality_conditions() {
        // Karush-Kuhn-Tucker: zero gradient on the positive coefficients, a gradient that
        // would only push the zero ones negative.
        let rows: Vec<Vec<f64>> = (0..12)
            .map(|i| {
                let i = f64::from(i);
                vec![1.0, i, (i * 1.7).sin(), i * i * 100.0]
            })
            .collect();
        let targets: Vec<f64> = rows
            .iter()
            .map(|r| 3.0 + 2.0 * r[1] - 5.0 * r[2] + 1e-3 * r[3])
            .collect();
        let c = non_negative_least_squares(&rows, &targets).unwrap();
        assert!(c.iter().all(|&v| v >= 0.0), "{c:?}");
        assert_eq!(c[2], 0.0, "{c:?}");
        let residual: Vec<f64> = rows
            .iter()
            .zip(&targets)
            .map(|(r, t)| t - dot(r, &c))
            .collect();
        for j in 0..4 {
            let column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            let gradient = dot(&column, &residual) / norm(&column);
            if c[j] > 0.0 {
                assert!(gradient.abs() < 1e-6, "{j}: {gradient}");
            } else {
                assert!(gradient <= 1e-6, "{j}: {gradient}");
            }
        }
    }
}
