//! The case service's reads over many cases, each within what the reader may read: the
//! overdue list, the hazard register (隐患清单) and the evaluation metrics.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::metrics::{self, GroupBy, Hazard, MetricsRow};
use super::{CaseError, CaseService};
use crate::model::case::{Case, ReadScope};
use crate::model::user::User;
use crate::store::cases::{CaseOrder, CaseQuery};

/// Open cases past their deadline, earliest deadline first.
#[derive(Debug, Clone)]
pub struct Overdue {
    /// The instant the list was taken at.
    pub as_of: DateTime<Utc>,
    /// The cases.
    pub cases: Vec<Case>,
    /// How many there are.
    pub matched: u64,
}

/// One line of the hazard register with the properties of its asset, when the asset exists.
#[derive(Debug, Clone)]
pub struct HazardLine {
    /// The asset and its cases.
    pub hazard: Hazard,
    /// The asset's properties (`None` when it is not in the catalogue).
    pub asset_properties: Option<Map<String, Value>>,
}

/// The hazard register of a period.
#[derive(Debug, Clone)]
pub struct HazardRegister {
    /// Start of the period.
    pub since: DateTime<Utc>,
    /// The assets with repeated cases, most cases first.
    pub lines: Vec<HazardLine>,
}

/// The window of an evaluation: `[from, to)`, and the last report time to read (`None`: up
/// to now).
#[derive(Debug, Clone, Copy)]
pub struct MetricsWindow {
    /// Start of the window.
    pub from: DateTime<Utc>,
    /// End of the window.
    pub to: DateTime<Utc>,
    /// Only cases reported before this.
    pub reported_to: Option<DateTime<Utc>>,
}

/// An evaluation: metrics per group and in total.
#[derive(Debug, Clone)]
pub struct MetricsReport {
    /// The instant the metrics were taken at.
    pub as_of: DateTime<Utc>,
    /// The groups (sorted by key), named (categories by their Chinese and English names).
    pub groups: Vec<MetricsRow>,
    /// All cases.
    pub total: MetricsRow,
}

impl CaseService {
    /// The open cases past their deadline that `reader` may read, earliest deadline first.
    pub async fn overdue(&self, reader: &User) -> Result<Overdue, CaseError> {
        let as_of = self.now();
        let (cases, matched) = self
            .find(&CaseQuery {
                overdue_at: Some(as_of),
                scope: Some(ReadScope::of(reader)),
                order: CaseOrder::Deadline,
                ..CaseQuery::default()
            })
            .await?;
        Ok(Overdue {
            as_of,
            cases,
            matched,
        })
    }

    /// The assets with at least `min_cases` cases among those `reader` may read, reported in
    /// the last `period`.
    pub async fn hazards(
        &self,
        reader: &User,
        period: chrono::Duration,
        min_cases: usize,
    ) -> Result<HazardRegister, CaseError> {
        let since = self.now() - period;
        let (cases, _) = self
            .find(&CaseQuery {
                reported_from: Some(since),
                scope: Some(ReadScope::of(reader)),
                ..CaseQuery::default()
            })
            .await?;
        let lines = metrics::hazards(&cases, since, min_cases)
            .into_iter()
            .map(|hazard| HazardLine {
                asset_properties: self
                    .catalog
                    .feature(&hazard.asset.collection, &hazard.asset.id)
                    .ok()
                    .map(|feature| feature.properties.to_map()),
                hazard,
            })
            .collect();
        Ok(HazardRegister { since, lines })
    }

    /// The metrics of the cases `reader` may read over `window`, grouped by `group_by`.
    pub async fn metrics(
        &self,
        reader: &User,
        group_by: Option<GroupBy>,
        window: MetricsWindow,
    ) -> Result<MetricsReport, CaseError> {
        let as_of = self.now();
        // Cases reported up to a year before the window still close or fall due inside it.
        let (cases, _) = self
            .find(&CaseQuery {
                reported_from: Some(window.from - chrono::Duration::days(366)),
                reported_to: window.reported_to,
                scope: Some(ReadScope::of(reader)),
                ..CaseQuery::default()
            })
            .await?;
        let (mut groups, total) = metrics::metrics(&cases, group_by, window.from, window.to, as_of);
        if group_by == Some(GroupBy::Category) {
            for row in &mut groups {
                if let Some(c) = self.categories().get(&row.key) {
                    row.name = format!("{} {}", c.name_zh, c.name_en);
                }
            }
        }
        Ok(MetricsReport {
            as_of,
            groups,
            total,
        })
    }
}
