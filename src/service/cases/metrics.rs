//! Evaluation (评价) of case handling and the hazard register (隐患清单): pure functions over
//! cases.
//!
//! Definitions, for a window `[from, to)` and the instant `now`:
//! - **received** (受理数): cases reported in the window;
//! - **filed** (立案数): cases filed in the window;
//! - **due** (应结案数): dispatched cases (not voided, not merged) whose handling deadline fell
//!   in the window and has passed, or which were closed in the window;
//! - **closed** (结案数): the due cases that are closed;
//! - **closed on time** (按期结案数): closed cases whose every stage kept its limit;
//! - 结案率 = closed / due; 按期结案率 = closed on time / due;
//! - 返工率 (rework rate) = cases handled in the window that failed a verification at least once
//!   / cases handled in the window;
//! - 延期率 (extension rate) = cases dispatched in the window that were granted an extension /
//!   cases dispatched in the window;
//! - median time to close: hours from report to closing, over cases closed in the window.
//!
//! A rate whose denominator is zero is `null`, not 0 or 1.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::case::{AssetRef, Case, CaseState};
use crate::model::grid::Level;

/// What metrics are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Street (街道).
    Street,
    /// Community (社区).
    Community,
    /// Grid cell (网格).
    Grid,
    /// The unit the case is dispatched to (else the responsible unit).
    Unit,
    /// Category.
    Category,
}

impl GroupBy {
    /// Every grouping.
    pub const ALL: [Self; 5] = [
        Self::Street,
        Self::Community,
        Self::Grid,
        Self::Unit,
        Self::Category,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Street => "street",
            Self::Community => "community",
            Self::Grid => "grid",
            Self::Unit => "unit",
            Self::Category => "category",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// The group of a case: key and name.
    fn key(self, case: &Case) -> (String, String) {
        let cell = |level: Level| {
            case.cells.iter().find(|c| c.level == level).map_or_else(
                || ("none".to_owned(), "(none)".to_owned()),
                |c| (c.code.clone(), c.name.clone()),
            )
        };
        match self {
            Self::Street => cell(Level::Street),
            Self::Community => cell(Level::Community),
            Self::Grid => cell(Level::Grid),
            Self::Unit => {
                let unit = case
                    .assigned_unit
                    .clone()
                    .or_else(|| case.responsible_unit.clone())
                    .unwrap_or_else(|| "(none)".into());
                (unit.clone(), unit)
            }
            Self::Category => (case.category.clone(), case.category.clone()),
        }
    }
}

/// The metrics of one group (or of all cases).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsRow {
    /// The group's key (a cell code, a unit, a category code; `all` for the total).
    pub key: String,
    /// The group's name.
    pub name: String,
    /// 受理数.
    pub received: u64,
    /// 立案数.
    pub filed: u64,
    /// Dispatched in the window.
    pub dispatched: u64,
    /// 应结案数.
    pub due: u64,
    /// 结案数.
    pub closed: u64,
    /// 按期结案数.
    pub closed_on_time: u64,
    /// Handled in the window.
    pub handled: u64,
    /// Of those, failed a verification at least once.
    pub reworked: u64,
    /// Of the dispatched, granted an extension.
    pub extended: u64,
    /// Open cases past their deadline now.
    pub overdue_now: u64,
    /// 结案率.
    pub closure_rate: Option<f64>,
    /// 按期结案率.
    pub on_time_rate: Option<f64>,
    /// 返工率.
    pub rework_rate: Option<f64>,
    /// 延期率.
    pub extension_rate: Option<f64>,
    /// Median hours from report to closing, over cases closed in the window.
    pub median_hours_to_close: Option<f64>,
}

#[derive(Debug, Default)]
struct Tally {
    row: MetricsRow,
    hours: Vec<f64>,
}

impl Tally {
    fn add(&mut self, case: &Case, from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) {
        let within = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= from && t < to);
        let row = &mut self.row;
        let counted = case.state != CaseState::Voided && case.merged_into.is_none();
        row.received += u64::from(within(Some(case.reported_at)));
        row.filed += u64::from(within(case.filed_at));
        if !counted {
            return;
        }
        let closed = case.state == CaseState::Closed;
        let closed_in_window = closed && within(case.closed_at);
        if within(case.dispatched_at) {
            row.dispatched += 1;
            row.extended += u64::from(case.extension_count > 0);
        }
        let deadline_passed_in_window = case
            .handle_due_at
            .is_some_and(|due| due >= from && due < to && due <= now);
        if case.dispatched_at.is_some() && (deadline_passed_in_window || closed_in_window) {
            row.due += 1;
            if closed && case.closed_at.is_some_and(|t| t < to) {
                row.closed += 1;
                row.closed_on_time += u64::from(case.on_time == Some(true));
            }
        }
        if within(case.handled_at) || (closed_in_window && case.handled_at.is_some()) {
            row.handled += 1;
            row.reworked += u64::from(case.rework_count > 0);
        }
        if closed_in_window && let Some(closed_at) = case.closed_at {
            #[expect(
                clippy::cast_precision_loss,
                reason = "seconds of a case's life fit f64 exactly"
            )]
            self.hours
                .push((closed_at - case.reported_at).num_seconds() as f64 / 3600.0);
        }
        row.overdue_now += u64::from(case.overdue_at(now));
    }

    fn finish(mut self) -> MetricsRow {
        let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let row = &mut self.row;
        row.closure_rate = rate(row.closed, row.due);
        row.on_time_rate = rate(row.closed_on_time, row.due);
        row.rework_rate = rate(row.reworked, row.handled);
        row.extension_rate = rate(row.extended, row.dispatched);
        row.median_hours_to_close = median(&mut self.hours);
        self.row
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    })
}

/// Metrics per group (sorted by key) and in total, over the window `[from, to)`.
pub fn metrics(
    cases: &[Case],
    group_by: Option<GroupBy>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Vec<MetricsRow>, MetricsRow) {
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    total.row.key = "all".into();
    total.row.name = "全部 all".into();
    for case in cases {
        total.add(case, from, to, now);
        if let Some(group_by) = group_by {
            let (key, name) = group_by.key(case);
            let tally = groups.entry(key.clone()).or_insert_with(|| Tally {
                row: MetricsRow {
                    key,
                    name,
                    ..MetricsRow::default()
                },
                hours: Vec::new(),
            });
            tally.add(case, from, to, now);
        }
    }
    (
        groups.into_values().map(Tally::finish).collect(),
        total.finish(),
    )
}

/// How far the rectification of a hazard has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rectification {
    /// 待整改: an open case is not dispatched yet.
    Pending,
    /// 整改中: an open case is with a unit.
    InProgress,
    /// 已整改: every case is closed.
    Rectified,
}

impl Rectification {
    /// 中文 name.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Pending => "待整改",
            Self::InProgress => "整改中",
            Self::Rectified => "已整改",
        }
    }
}

/// An asset with repeated cases: one line of the hazard register (隐患、责任、整改).
#[derive(Debug, Clone, Serialize)]
pub struct Hazard {
    /// The asset.
    pub asset: AssetRef,
    /// Its cases in the period, newest first.
    pub case_ids: Vec<i64>,
    /// How many.
    pub case_count: usize,
    /// Of those, still open.
    pub open_cases: usize,
    /// The categories of those cases.
    pub categories: Vec<String>,
    /// First report in the period.
    pub first_reported_at: DateTime<Utc>,
    /// Last report in the period.
    pub last_reported_at: DateTime<Utc>,
    /// 责任: the unit of the newest case (dispatched to, else responsible for the place).
    pub responsible_unit: Option<String>,
    /// The most specific cell of the newest case.
    pub cell: Option<String>,
    /// 整改: how far rectification has come.
    pub rectification: Rectification,
    /// 中文 label of `rectification`.
    pub rectification_zh: &'static str,
}

/// Assets with at least `min_cases` cases reported at or after `since` (voided and merged
/// duplicates do not count), most cases first.
pub fn hazards(cases: &[Case], since: DateTime<Utc>, min_cases: usize) -> Vec<Hazard> {
    let mut by_asset: BTreeMap<(String, String), Vec<&Case>> = BTreeMap::new();
    for case in cases {
        let Some(asset) = &case.asset else { continue };
        if case.reported_at < since || case.state == CaseState::Voided || case.merged_into.is_some()
        {
            continue;
        }
        by_asset
            .entry((asset.collection.clone(), asset.id.clone()))
            .or_default()
            .push(case);
    }
    let mut hazards: Vec<Hazard> = by_asset
        .into_iter()
        .filter(|(_, cases)| cases.len() >= min_cases.max(1))
        .map(|((collection, id), mut cases)| {
            cases.sort_by_key(|c| std::cmp::Reverse((c.reported_at, c.id)));
            let newest = cases[0];
            let open: Vec<&&Case> = cases.iter().filter(|c| c.state.is_open()).collect();
            let rectification = if open.is_empty() {
                Rectification::Rectified
            } else if open.iter().any(|c| c.assigned_unit.is_some()) {
                Rectification::InProgress
            } else {
                Rectification::Pending
            };
            let mut categories: Vec<String> = cases.iter().map(|c| c.category.clone()).collect();
            categories.sort();
            categories.dedup();
            Hazard {
                asset: AssetRef { collection, id },
                case_ids: cases.iter().map(|c| c.id).collect(),
                case_count: cases.len(),
                open_cases: open.len(),
                categories,
                first_reported_at: cases.iter().map(|c| c.reported_at).min().unwrap_or(since),
                last_reported_at: newest.reported_at,
                responsible_unit: newest
                    .assigned_unit
                    .clone()
                    .or_else(|| newest.responsible_unit.clone()),
                cell: newest.cell().map(str::to_owned),
                rectification,
                rectification_zh: rectification.label_zh(),
            }
        })
        .collect();
    hazards.sort_by(|a, b| {
        (b.case_count, b.last_reported_at).cmp(&(a.case_count, a.last_reported_at))
    });
    hazards
}

#[cfg(test)]
mod tests;
