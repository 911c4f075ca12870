//! Precomputed tables shared by both passes: calendar intensities, shop hours and product sampling

use crate::calendar::{Zone, civil_from_days, days_from_civil, weekday};
use crate::catalog::{BRANCHES, CATEGORIES, EMPLOYEES, Product, products};
use crate::rng::{Rng, cumulative};

/// Length of the generated history in days.
pub(crate) const DAYS: i32 = 730;

/// Everything that does not depend on the customer being generated.
pub(crate) struct World {
    pub(crate) seed: u64,
    pub(crate) customers: usize,
    /// Absolute day number of the first day of the history.
    pub(crate) start: i32,
    /// The demo's now (Unix seconds): nothing happens after it.
    pub(crate) until: i64,
    /// Number of intermediary accounts (customer indexes `0..n_intermediaries`).
    pub(crate) n_intermediaries: usize,
    /// Number of internal (employee) customers, right after the intermediaries.
    pub(crate) n_internal: usize,
    /// Zero-padded width of the digits in member numbers.
    pub(crate) id_width: usize,
    pub(crate) products: Vec<Product>,
    /// Popularity-weighted sampling over all products.
    pub(crate) product_cum: Vec<f64>,
    /// Per category: product indexes and their cumulative popularity.
    pub(crate) category_products: Vec<(Vec<usize>, Vec<f64>)>,
    /// Per branch: employee indexes working there.
    pub(crate) branch_employees: Vec<Vec<usize>>,
    /// Per branch: cumulative enrolment zeal of its employees.
    pub(crate) branch_zeal: Vec<Vec<f64>>,
    /// Per branch, per day of the history: relative shopping intensity.
    pub(crate) intensity: Vec<Vec<f64>>,
    /// Per branch: the maximum of `intensity`.
    pub(crate) intensity_max: Vec<f64>,
    /// Per branch, per weekday: cumulative weights of opening hours 0..24.
    pub(crate) hours: Vec<[Vec<f64>; 7]>,
    /// Cumulative shares of branches for registrations.
    pub(crate) branch_cum: Vec<f64>,
}

/// Relative traffic by weekday (Sunday first) for a zone.
fn weekday_factor(zone: Zone, wd: u32) -> f64 {
    let table = match zone {
        Zone::Jerusalem => [0.9, 0.85, 0.9, 1.0, 1.35, 1.5, 0.6],
        Zone::Tehran => [0.9, 0.9, 0.95, 1.15, 1.4, 0.7, 1.0],
    };
    table[wd as usize % 7]
}

/// Relative traffic by month: holiday peaks (Passover, the autumn holidays; Nowruz, Yalda).
fn month_factor(zone: Zone, month: u32) -> f64 {
    let table = match zone {
        Zone::Jerusalem => [0.9, 0.9, 1.1, 1.25, 1.0, 0.95, 0.95, 0.9, 1.3, 1.15, 0.95, 1.05],
        Zone::Tehran => [0.9, 1.0, 1.4, 1.1, 1.0, 0.95, 0.95, 0.9, 1.0, 1.0, 0.95, 1.15],
    };
    table[(month as usize).saturating_sub(1) % 12]
}

/// Opening hours `[open, close)` by zone and weekday.
fn opening(zone: Zone, wd: u32) -> (usize, usize) {
    match (zone, wd) {
        (Zone::Jerusalem, 5) => (7, 15),
        (Zone::Jerusalem, 6) => (10, 22),
        (Zone::Jerusalem, _) => (8, 22),
        (Zone::Tehran, 5) => (10, 20),
        (Zone::Tehran, _) => (8, 22),
    }
}

impl World {
    pub(crate) fn new(customers: usize, seed: u64, end: (i32, u32, u32)) -> World {
        let start = days_from_civil(end.0, end.1, end.2) - (DAYS - 1);
        let n_intermediaries = (customers / 4000).clamp(1, 10).min(customers / 10);
        let n_internal = (customers / 1000).clamp(1, EMPLOYEES.len()).min(customers / 20);
        let digits = customers.max(1).to_string().len();
        let products = products();
        let product_cum = cumulative(products.iter().map(|p| p.popularity));
        let category_products = (0..CATEGORIES.len())
            .map(|c| {
                let idx: Vec<usize> = (0..products.len()).filter(|&i| products[i].category == c).collect();
                let cum = cumulative(idx.iter().map(|&i| products[i].popularity));
                (idx, cum)
            })
            .collect();
        let branch_employees: Vec<Vec<usize>> = (0..BRANCHES.len())
            .map(|b| (0..EMPLOYEES.len()).filter(|&e| EMPLOYEES[e].2 == b).collect())
            .collect();
        let branch_zeal = branch_employees
            .iter()
            .map(|es| cumulative(es.iter().map(|&e| EMPLOYEES[e].3)))
            .collect();
        let mut intensity = Vec::new();
        let mut intensity_max = Vec::new();
        let mut hours = Vec::new();
        for b in &BRANCHES {
            let row: Vec<f64> = (0..DAYS)
                .map(|d| {
                    let day = start + d;
                    let (_, m, _) = civil_from_days(day);
                    weekday_factor(b.zone, weekday(day)) * month_factor(b.zone, m)
                })
                .collect();
            intensity_max.push(row.iter().copied().fold(0.0, f64::max));
            intensity.push(row);
            hours.push(std::array::from_fn(|wd| {
                let (open, close) = opening(b.zone, wd as u32);
                cumulative((0..24).map(|h| {
                    if h < open || h >= close {
                        return 0.0;
                    }
                    let x = h as f64 + 0.5;
                    1.0 + 1.2 * (-(x - 11.5) * (x - 11.5) / 4.0).exp() + 1.5 * (-(x - 18.0) * (x - 18.0) / 5.0).exp()
                }))
            }));
        }
        World {
            seed,
            customers,
            start,
            until: i64::MAX,
            n_intermediaries,
            n_internal,
            id_width: digits.max(6),
            products,
            product_cum,
            category_products,
            branch_employees,
            branch_zeal,
            intensity,
            intensity_max,
            hours,
            branch_cum: cumulative(crate::catalog::BRANCH_SHARE),
        }
    }

    /// Index of the first ordinary consumer.
    pub(crate) fn first_consumer(&self) -> usize {
        self.n_intermediaries + self.n_internal
    }

    /// A local time of day (seconds since midnight) during the branch's opening hours.
    pub(crate) fn shop_time(&self, rng: &mut Rng, branch: usize, day_index: i32) -> u32 {
        let wd = weekday(self.start + day_index) as usize;
        let hour = rng.weighted(&self.hours[branch][wd % 7]) as u32;
        hour * 3600 + rng.below(3600) as u32
    }

    /// A random employee of a branch.
    pub(crate) fn employee_at(&self, rng: &mut Rng, branch: usize) -> usize {
        let es = &self.branch_employees[branch];
        es[rng.index(es.len()).min(es.len().saturating_sub(1))]
    }
}
