//! An `f32` training path, outside the deterministic backends, to measure what the
//! fixed-point format costs in accuracy. It starts from the same initial weights,
//! visits the same batches and uses the same learning rate as the compiled job.

use crate::{dataset::Dataset, model::CompiledJob, numerics::fx_to_f64};

/// A float MLP: (weight `[in, out]`, bias `[out]`) per layer.
#[derive(Clone, Debug)]
pub struct FloatModel {
    layers: Vec<u32>,
    params: Vec<(Vec<f32>, Vec<f32>)>,
}

/// A strided read-only matrix view: element `(i, j)` is `data[i * row + j * col]`.
struct View<'a> {
    data: &'a [f32],
    row: isize,
    col: isize,
}

/// `c [m, n] = a [m, k] x b [k, n]`.
fn sgemm(m: usize, k: usize, n: usize, a: View<'_>, b: View<'_>, c: &mut [f32]) {
    let last = |v: &View<'_>, rows: usize, cols: usize| (rows as isize - 1) * v.row + (cols as isize - 1) * v.col;
    assert!(last(&a, m, k) < a.data.len() as isize && last(&b, k, n) < b.data.len() as isize);
    assert!(c.len() >= m * n);
    // SAFETY: the asserts above keep every strided access of a, b and c in bounds.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.row,
            a.col,
            b.data.as_ptr(),
            b.row,
            b.col,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

impl FloatModel {
    /// The job's initial parameters, converted exactly to `f32`.
    pub fn from_job(job: &CompiledJob) -> Self {
        let conv = |v: &[i32]| v.iter().map(|&x| fx_to_f64(x) as f32).collect::<Vec<f32>>();
        Self {
            layers: job.spec.model.layers.clone(),
            params: job.initial_params.iter().map(|(w, b)| (conv(w), conv(b))).collect(),
        }
    }

    /// Forward pass; returns pre-activations per layer and activations (input first).
    fn forward(&self, x: &[f32], rows: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let mut acts = vec![x.to_vec()];
        let mut pres = Vec::new();
        for (l, (w, b)) in self.params.iter().enumerate() {
            let (k, n) = (self.layers[l] as usize, self.layers[l + 1] as usize);
            let mut z = vec![0f32; rows * n];
            sgemm(
                rows,
                k,
                n,
                View { data: &acts[l], row: k as isize, col: 1 },
                View { data: w, row: n as isize, col: 1 },
                &mut z,
            );
            z.chunks_mut(n).for_each(|r| r.iter_mut().zip(b).for_each(|(v, &bb)| *v += bb));
            if l + 1 < self.params.len() {
                acts.push(z.iter().map(|&v| v.max(0.0)).collect());
            }
            pres.push(z);
        }
        (pres, acts)
    }

    /// Trains for the job's steps on its batch schedule; returns the mean loss of the
    /// last batch.
    pub fn train(&mut self, job: &CompiledJob) -> f32 {
        let batch = job.spec.train.batch_size as usize;
        let lr = job.spec.train.learning_rate as f32;
        let data = &job.train;
        let (dim, classes) = (data.dim, data.classes);
        let mut loss = 0.0;
        for idx in job.schedule.chunks(batch) {
            let x: Vec<f32> = idx
                .iter()
                .flat_map(|&i| data.features[i as usize * dim..][..dim].iter().map(|&v| fx_to_f64(v) as f32))
                .collect();
            let (pres, acts) = self.forward(&x, batch);
            let logits = pres.last().expect("layers");
            let mut grad = vec![0f32; batch * classes];
            loss = 0.0;
            for (r, &i) in idx.iter().enumerate() {
                let row = &logits[r * classes..][..classes];
                let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let s: f32 = row.iter().map(|&v| (v - m).exp()).sum();
                let label = data.labels[i as usize] as usize;
                loss += (s.ln() + m - row[label]) / batch as f32;
                for (j, g) in grad[r * classes..][..classes].iter_mut().enumerate() {
                    let p = (row[j] - m).exp() / s;
                    *g = (p - if j == label { 1.0 } else { 0.0 }) / batch as f32;
                }
            }
            let mut updates = Vec::new();
            for l in (0..self.params.len()).rev() {
                let (k, n) = (self.layers[l] as usize, self.layers[l + 1] as usize);
                let mut dw = vec![0f32; k * n];
                sgemm(
                    k,
                    batch,
                    n,
                    View { data: &acts[l], row: 1, col: k as isize },
                    View { data: &grad, row: n as isize, col: 1 },
                    &mut dw,
                );
                let mut db = vec![0f32; n];
                grad.chunks(n).for_each(|r| db.iter_mut().zip(r).for_each(|(d, &g)| *d += g));
                if l > 0 {
                    let mut dh = vec![0f32; batch * k];
                    sgemm(
                        batch,
                        n,
                        k,
                        View { data: &grad, row: n as isize, col: 1 },
                        View { data: &self.params[l].0, row: 1, col: n as isize },
                        &mut dh,
                    );
                    dh.iter_mut().zip(&pres[l - 1]).for_each(|(d, &p)| {
                        if p <= 0.0 {
                            *d = 0.0;
                        }
                    });
                    grad = dh;
                }
                updates.push((l, dw, db));
            }
            for (l, dw, db) in updates {
                let (w, b) = &mut self.params[l];
                w.iter_mut().zip(&dw).for_each(|(p, g)| *p -= lr * g);
                b.iter_mut().zip(&db).for_each(|(p, g)| *p -= lr * g);
            }
        }
        loss
    }

    /// Fraction of `data` classified correctly.
    pub fn accuracy(&self, data: &Dataset) -> f64 {
        let x: Vec<f32> = data.features.iter().map(|&v| fx_to_f64(v) as f32).collect();
        let (pres, _) = self.forward(&x, data.len());
        let classes = data.classes;
        let correct = pres
            .last()
            .expect("layers")
            .chunks(classes)
            .zip(&data.labels)
            .filter(|(row, l)| {
                let best = (0..classes).fold(0, |b, j| if row[j] > row[b] { j } else { b });
                best == **l as usize
            })
            .count();
        correct as f64 / data.len().max(1) as f64
    }
}
