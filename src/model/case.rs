//! Cases (案件) of unified city management (一网统管): their states, the actions that move them,
//! who may take each action, and the deadlines that follow from a case's log.
//!
//! The workflow follows the national practice for digital city management
//! (信息收集 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价):
//!
//! ```text
//! reported ─file→ filed ─dispatch→ dispatched ─start→ in_progress ─handle→ handled ─verify→ verified ─close→ closed
//!    │              │  ↑                │   │              │   ↑                 │
//!    │              │  └──dispatch── returned ←──return────┘   └──────reject─────┘ (返工, rework)
//!    └─void/merge→ voided/closed          request_extension → extension_pending ─approve/deny→ back
//!                   suspend → suspended (挂账) ─resume→ back
//! ```
//!
//! Two actions sit beside the chain. `dispatch` again from `dispatched` or `in_progress` (改派,
//! redispatch) is open to the command centre only while the case is *stranded*: the unit it is
//! dispatched to has no active handler, so nobody could start, return or handle it.
//! `link_asset` (关联设施) sets, changes or clears the asset a case is about in any state but
//! `voided`, closed cases included (the hazard register counts them); the state does not change.
//!
//! Everything here is pure: no clock, no I/O. Deadlines are computed from the log with a
//! [`WorkCalendar`]; times are UTC instants, positions WGS84 lon/lat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::calendar::{Pause, TimeLimit, WorkCalendar};
use crate::model::category::{Category, Stage};
use crate::model::grid::Level;
use crate::model::user::{Role, User};

/// The state of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 上报: reported, waiting for the command centre.
    Reported,
    /// 立案: accepted as a case by the command centre.
    Filed,
    /// 派遣: dispatched to a unit; the handling clock runs.
    Dispatched,
    /// 处置中: the unit is working on it.
    InProgress,
    /// 延期申请中: the unit asked for more time; the clock is paused until the centre decides.
    ExtensionPending,
    /// 已反馈: the unit reports it handled; waiting for on-site verification.
    Handled,
    /// 已核查: verified on site; waiting to be closed.
    Verified,
    /// 结案: closed (also a merged duplicate).
    Closed,
    /// 回退: returned to the command centre by the unit, for redispatch.
    Returned,
    /// 挂账: suspended for long-term work; the clock is paused.
    Suspended,
    /// 作废: voided (not a case, or reported in error).
    Voided,
}

impl CaseState {
    /// Every state, in workflow order.
    pub const ALL: [Self; 11] = [
        Self::Reported,
        Self::Filed,
        Self::Dispatched,
        Self::InProgress,
        Self::ExtensionPending,
        Self::Handled,
        Self::Verified,
        Self::Closed,
        Self::Returned,
        Self::Suspended,
        Self::Voided,
    ];

    /// The wire name (`in_progress`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Filed => "filed",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::ExtensionPending => "extension_pending",
            Self::Handled => "handled",
            Self::Verified => "verified",
            Self::Closed => "closed",
            Self::Returned => "returned",
            Self::Suspended => "suspended",
            Self::Voided => "voided",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// 中文 name.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Reported => "待立案",
            Self::Filed => "已立案",
            Self::Dispatched => "已派遣",
            Self::InProgress => "处置中",
            Self::ExtensionPending => "延期申请中",
            Self::Handled => "待核查",
            Self::Verified => "待结案",
            Self::Closed => "已结案",
            Self::Returned => "已回退",
            Self::Suspended => "挂账",
            Self::Voided => "已作废",
        }
    }

    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Filed => "filed",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in progress",
            Self::ExtensionPending => "extension pending",
            Self::Handled => "handled, to verify",
            Self::Verified => "verified, to close",
            Self::Closed => "closed",
            Self::Returned => "returned",
            Self::Suspended => "suspended",
            Self::Voided => "voided",
        }
    }

    /// Whether the case still needs work (not closed, not voided).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Voided)
    }

    /// Whether the clock of the current stage is stopped in this state.
    pub fn is_paused(self) -> bool {
        matches!(self, Self::Suspended | Self::ExtensionPending)
    }
}

impl std::fmt::Display for CaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something done to a case. `Report` creates it; the others move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 上报: the case is reported.
    Report,
    /// 立案: the command centre accepts it.
    File,
    /// 派遣: the command centre sends it to a unit (again after a return).
    Dispatch,
    /// 接单: the unit starts work.
    Start,
    /// 回退: the unit sends it back to the centre (not ours, wrong place…); a note is required.
    Return,
    /// 申请延期: the unit asks for more time (an amount in the category's time unit).
    RequestExtension,
    /// 批准延期: the centre grants the extension.
    ApproveExtension,
    /// 驳回延期: the centre refuses it.
    DenyExtension,
    /// 反馈: the unit reports the problem handled (with photos, usually).
    Handle,
    /// 核查通过: verified on site by the supervisor or the cell's grid worker.
    Verify,
    /// 核查不通过: verification failed; back to handling, counted as rework (返工).
    Reject,
    /// 结案: the supervision centre closes it.
    Close,
    /// 挂账: suspended for long-term work.
    Suspend,
    /// 恢复: taken up again after suspension.
    Resume,
    /// 作废: voided.
    Void,
    /// 合并: closed as a duplicate of another open case.
    Merge,
    /// 关联设施: links the asset the case is about (or changes or clears it); no state change.
    LinkAsset,
}

impl Action {
    /// Every action that moves an existing case.
    pub const TRANSITIONS: [Self; 16] = [
        Self::File,
        Self::Dispatch,
        Self::Start,
        Self::Return,
        Self::RequestExtension,
        Self::ApproveExtension,
        Self::DenyExtension,
        Self::Handle,
        Self::Verify,
        Self::Reject,
        Self::Close,
        Self::Suspend,
        Self::Resume,
        Self::Void,
        Self::Merge,
        Self::LinkAsset,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::File => "file",
            Self::Dispatch => "dispatch",
            Self::Start => "start",
            Self::Return => "return",
            Self::RequestExtension => "request_extension",
            Self::ApproveExtension => "approve_extension",
            Self::DenyExtension => "deny_extension",
            Self::Handle => "handle",
            Self::Verify => "verify",
            Self::Reject => "reject",
            Self::Close => "close",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Void => "void",
            Self::Merge => "merge",
            Self::LinkAsset => "link_asset",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        std::iter::once(Self::Report)
            .chain(Self::TRANSITIONS)
            .find(|a| a.as_str() == text)
    }

    /// 中文 name.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Report => "上报",
            Self::File => "立案",
            Self::Dispatch => "派遣",
            Self::Start => "接单处置",
            Self::Return => "回退",
            Self::RequestExtension => "申请延期",
            Self::ApproveExtension => "批准延期",
            Self::DenyExtension => "驳回延期",
            Self::Handle => "处置反馈",
            Self::Verify => "核查通过",
            Self::Reject => "核查不通过(返工)",
            Self::Close => "结案",
            Self::Suspend => "挂账",
            Self::Resume => "恢复",
            Self::Void => "作废",
            Self::Merge => "合并为重复案件",
            Self::LinkAsset => "关联设施",
        }
    }

    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::File => "file",
            Self::Dispatch => "dispatch",
            Self::Start => "start work",
            Self::Return => "return to centre",
            Self::RequestExtension => "request extension",
            Self::ApproveExtension => "approve extension",
            Self::DenyExtension => "deny extension",
            Self::Handle => "report handled",
            Self::Verify => "verify",
            Self::Reject => "fail verification (rework)",
            Self::Close => "close",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Void => "void",
            Self::Merge => "merge as duplicate",
            Self::LinkAsset => "link asset",
        }
    }

    /// The roles that may take this action at all (unit and cell checks come on top).
    pub fn roles(self) -> &'static [Role] {
        use Role::{Admin, Dispatcher, Handler, Supervisor, Worker};
        match self {
            Self::Report => &[Worker, Dispatcher, Supervisor, Admin],
            Self::File
            | Self::Dispatch
            | Self::ApproveExtension
            | Self::DenyExtension
            | Self::Void
            | Self::Merge => &[Dispatcher, Admin],
            Self::Start | Self::Return | Self::RequestExtension | Self::Handle => &[Handler, Admin],
            Self::Verify | Self::Reject => &[Supervisor, Worker, Admin],
            Self::Close => &[Supervisor, Admin],
            Self::Suspend | Self::Resume | Self::LinkAsset => &[Dispatcher, Supervisor, Admin],
        }
    }

    /// Whether the action needs a note saying why.
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Self::Return
                | Self::RequestExtension
                | Self::DenyExtension
                | Self::Reject
                | Self::Suspend
                | Self::Void
        )
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where `action` takes a case in `state`, or `None` if it cannot be taken there.
/// `resume_state` is the state a suspended case or pending extension returns to.
#[expect(
    clippy::match_same_arms,
    reason = "one arm per transition reads as the workflow table"
)]
pub fn next_state(
    state: CaseState,
    action: Action,
    resume_state: Option<CaseState>,
) -> Option<CaseState> {
    use Action as A;
    use CaseState as S;
    Some(match (state, action) {
        (S::Reported, A::File) => S::Filed,
        (S::Reported | S::Filed | S::Returned, A::Void) => S::Voided,
        (S::Reported | S::Filed, A::Merge) => S::Closed,
        (S::Filed | S::Returned, A::Dispatch) => S::Dispatched,
        (S::Filed | S::Returned | S::Dispatched | S::InProgress, A::Suspend) => S::Suspended,
        (S::Dispatched, A::Start) => S::InProgress,
        (S::Dispatched | S::InProgress, A::Return) => S::Returned,
        (S::Dispatched | S::InProgress, A::RequestExtension) => S::ExtensionPending,
        (S::Dispatched | S::InProgress, A::Handle) => S::Handled,
        (S::ExtensionPending, A::ApproveExtension | A::DenyExtension) => {
            resume_state.unwrap_or(S::InProgress)
        }
        (S::Handled, A::Verify) => S::Verified,
        (S::Handled, A::Reject) => S::InProgress,
        (S::Verified, A::Close) => S::Closed,
        (S::Suspended, A::Resume) => resume_state.unwrap_or(S::Filed),
        (state, A::LinkAsset) if state != S::Voided => state,
        _ => return None,
    })
}

/// The actions that can be taken in `state` by someone (roles not considered), redispatch
/// included where a stranded case allows it.
pub fn actions_in(state: CaseState) -> Vec<Action> {
    Action::TRANSITIONS
        .into_iter()
        .filter(|a| next_state(state, *a, None).is_some() || redispatchable(state, *a))
        .collect()
}

/// Whether `action` is a redispatch (改派) of a case in `state`: `dispatch` of a case already
/// dispatched or being worked on. Allowed only while the case is stranded
/// ([`CaseScope::stranded`]).
pub fn redispatchable(state: CaseState, action: Action) -> bool {
    action == Action::Dispatch && matches!(state, CaseState::Dispatched | CaseState::InProgress)
}

/// Why an actor may not take an action.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The actor's role may not take this action.
    #[error("the role {role} may not {action}; allowed: {allowed}")]
    Role {
        /// The actor's role.
        role: &'static str,
        /// The action.
        action: Action,
        /// The roles that may.
        allowed: String,
    },
    /// A grid worker acting outside the cells assigned to them.
    #[error("the case lies in grid cell {cell}, which is not among your cells")]
    Cell {
        /// The case's cell.
        cell: String,
    },
    /// A unit handler acting on a case dispatched to another unit (or to none).
    #[error("the case is dispatched to {assigned}, not to your unit {unit}")]
    Unit {
        /// The unit the case is dispatched to.
        assigned: String,
        /// The actor's unit.
        unit: String,
    },
    /// A redispatch of a case whose unit has active handlers: they can act (or return it).
    #[error(
        "case is {state} with {unit}, which has active handlers; only a case whose unit has no active handler can be redispatched (the unit can return it)"
    )]
    Staffed {
        /// The current state.
        state: CaseState,
        /// The unit the case is dispatched to.
        unit: String,
    },
    /// The action is not possible in the case's current state.
    #[error("a case that is {state} cannot be given the action {action}; possible now: {possible}")]
    State {
        /// The current state.
        state: CaseState,
        /// The action.
        action: Action,
        /// The actions possible in this state.
        possible: String,
    },
}

impl Refusal {
    /// Whether the refusal is about the case's state (409) rather than the actor (403).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::State { .. } | Self::Staffed { .. })
    }
}

/// What the permission check needs to know of a case.
#[derive(Debug, Clone, Copy)]
pub struct CaseScope<'a> {
    /// The current state.
    pub state: CaseState,
    /// The state a pause returns to.
    pub resume_state: Option<CaseState>,
    /// The most specific grid cell code of the case (grid, else community, street).
    pub cell: Option<&'a str>,
    /// The unit the case is dispatched to.
    pub assigned_unit: Option<&'a str>,
    /// Whether some active handler holds `assigned_unit` (true when unknown or unassigned).
    pub unit_staffed: bool,
}

impl CaseScope<'_> {
    /// Whether nobody can act on the case: it is dispatched (or in progress) to a unit no active
    /// handler holds. The command centre may then redispatch it.
    pub fn stranded(&self) -> bool {
        matches!(self.state, CaseState::Dispatched | CaseState::InProgress)
            && self.assigned_unit.is_some()
            && !self.unit_staffed
    }
}

/// Checks that `actor` may take `action` on a case and returns the state it leads to.
/// Role first (403), then the actor's cell or unit (403), then the state (409).
pub fn authorize(actor: &User, action: Action, case: &CaseScope<'_>) -> Result<CaseState, Refusal> {
    check_role(actor, action)?;
    match (actor.role, action) {
        (Role::Worker, _) => {
            let cell = case.cell.unwrap_or_default();
            if !actor.covers_cell(cell) {
                return Err(Refusal::Cell {
                    cell: cell.to_owned(),
                });
            }
        }
        (Role::Handler, _) => {
            let unit = actor.unit.clone().unwrap_or_default();
            if case.assigned_unit != Some(unit.as_str()) || unit.is_empty() {
                return Err(Refusal::Unit {
                    assigned: case.assigned_unit.unwrap_or("no unit").to_owned(),
                    unit: if unit.is_empty() {
                        "(none)".into()
                    } else {
                        unit
                    },
                });
            }
        }
        _ => {}
    }
    if redispatchable(case.state, action) {
        return if case.stranded() {
            Ok(CaseState::Dispatched)
        } else {
            Err(Refusal::Staffed {
                state: case.state,
                unit: case.assigned_unit.unwrap_or("no unit").to_owned(),
            })
        };
    }
    next_state(case.state, action, case.resume_state).ok_or_else(|| Refusal::State {
        state: case.state,
        action,
        possible: actions_in(case.state)
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Checks the actor's role alone.
pub fn check_role(actor: &User, action: Action) -> Result<(), Refusal> {
    if action.roles().contains(&actor.role) {
        Ok(())
    } else {
        Err(Refusal::Role {
            role: actor.role.as_str(),
            action,
            allowed: action
                .roles()
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// The actions `actor` may take on the case now (for the buttons a client shows).
pub fn allowed_actions(actor: &User, case: &CaseScope<'_>) -> Vec<Action> {
    Action::TRANSITIONS
        .into_iter()
        .filter(|a| authorize(actor, *a, case).is_ok())
        .collect()
}

/// Which cases a user may read: scoped like the actions they may take.
///
/// | role | reads |
/// | --- | --- |
/// | admin, dispatcher, supervisor, analyst, viewer | every case |
/// | worker | cases in their cells (or below), and the cases they reported |
/// | handler | cases dispatched to their unit, and the cases they reported |
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadScope {
    /// Every case.
    All,
    /// Cases in these cells or below them, and those reported by `reporter`.
    Cells {
        /// Cell codes; a code covers every cell below it.
        cells: Vec<String>,
        /// The user's reporter name.
        reporter: String,
    },
    /// Cases dispatched to this unit, and those reported by `reporter`.
    Unit {
        /// The unit; a handler without one reads only what they reported.
        unit: Option<String>,
        /// The user's reporter name.
        reporter: String,
    },
}

impl ReadScope {
    /// The scope of `user`'s role.
    pub fn of(user: &User) -> Self {
        let reporter = user.username.to_string();
        match user.role {
            Role::Worker => Self::Cells {
                cells: user.cells.clone(),
                reporter,
            },
            Role::Handler => Self::Unit {
                unit: user.unit.clone().filter(|u| !u.is_empty()),
                reporter,
            },
            Role::Admin | Role::Dispatcher | Role::Supervisor | Role::Analyst | Role::Viewer => {
                Self::All
            }
        }
    }

    /// Whether a case in `cell`, dispatched to `assigned_unit` and reported by `reporter` is
    /// in the scope.
    pub fn admits(&self, cell: Option<&str>, assigned_unit: Option<&str>, reporter: &str) -> bool {
        match self {
            Self::All => true,
            Self::Cells {
                cells,
                reporter: me,
            } => {
                me == reporter
                    || cell.is_some_and(|code| cells.iter().any(|c| code.starts_with(c.as_str())))
            }
            Self::Unit { unit, reporter: me } => {
                me == reporter || (unit.is_some() && unit.as_deref() == assigned_unit)
            }
        }
    }

    /// Whether `case` is in the scope.
    pub fn admits_case(&self, case: &Case) -> bool {
        self.admits(case.cell(), case.assigned_unit.as_deref(), &case.reporter)
    }
}

/// Whether `user` may see who reported a case reported by `reporter`: the centres
/// (dispatcher, supervisor), administrators, and the reporter themself. Everyone else reads
/// the case without the reporter's identity (`reporter` and the log's entries by the reporter).
pub fn sees_reporter(user: &User, reporter: &str) -> bool {
    matches!(user.role, Role::Admin | Role::Dispatcher | Role::Supervisor)
        || user.username.as_str() == reporter
}

/// The text that stands for a reporter hidden from the reader.
pub const WITHHELD: &str = "withheld";

impl Case {
    /// The case as `user` may read it: the reporter withheld unless [`sees_reporter`].
    #[must_use]
    pub fn redacted_for(&self, user: &User) -> Self {
        let mut case = self.clone();
        if !sees_reporter(user, &self.reporter) {
            WITHHELD.clone_into(&mut case.reporter);
        }
        case
    }
}

/// A case's log as `user` may read it: the entries by the reporter name no actor unless
/// [`sees_reporter`].
pub fn redact_log(log: &[LogEntry], reporter: &str, user: &User) -> Vec<LogEntry> {
    let hide = !sees_reporter(user, reporter);
    log.iter()
        .map(|entry| {
            let mut entry = entry.clone();
            if hide && entry.actor == reporter {
                WITHHELD.clone_into(&mut entry.actor);
            }
            entry
        })
        .collect()
}

/// One level of the grid chain a case lies in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellRef {
    /// The level of the cell (`district`, `street`, `community` or `grid` on the wire).
    pub level: Level,
    /// The cell's code (6, 9, 12 or 15 digits).
    pub code: String,
    /// The cell's name.
    pub name: String,
}

/// A feature a case is about (a manhole, a pipeline…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    /// The collection.
    pub collection: String,
    /// The feature id.
    pub id: String,
}

/// A case as stored: its current state and the facts the workflow and the metrics need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The case number.
    pub id: i64,
    /// Goes up by one with every action; a conditional write on it makes concurrent actions safe.
    pub version: i64,
    /// The category code (see `category.rs`).
    pub category: String,
    /// The current state.
    pub state: CaseState,
    /// The state a suspended case or a pending extension returns to.
    pub resume_state: Option<CaseState>,
    /// What the reporter saw.
    pub description: String,
    /// A street address or landmark, if given.
    pub address: Option<String>,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// The grid chain at the location when reported (district first).
    pub cells: Vec<CellRef>,
    /// The unit responsible for the place (the cell's, else its community's or street's).
    pub responsible_unit: Option<String>,
    /// The unit the case is dispatched to.
    pub assigned_unit: Option<String>,
    /// The asset the case is about.
    pub asset: Option<AssetRef>,
    /// Photos of the report (SHA-256 ids).
    pub photos: Vec<String>,
    /// Who reported it (a username or `open311:<key name>`).
    pub reporter: String,
    /// How it came in: `api`, `tablet` or `open311`.
    pub channel: String,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
    /// When it was filed (立案).
    pub filed_at: Option<DateTime<Utc>>,
    /// When it was last dispatched.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// When it was last reported handled.
    pub handled_at: Option<DateTime<Utc>>,
    /// When it was verified.
    pub verified_at: Option<DateTime<Utc>>,
    /// When it was closed, voided or merged.
    pub closed_at: Option<DateTime<Utc>>,
    /// The deadline of the current stage (None when none runs or the clock is paused).
    pub due_at: Option<DateTime<Utc>>,
    /// The handling deadline (处置时限) as it stands.
    pub handle_due_at: Option<DateTime<Utc>>,
    /// For closed cases: whether every stage kept its limit.
    pub on_time: Option<bool>,
    /// Failed verifications (返工).
    pub rework_count: u32,
    /// Approved extensions (延期).
    pub extension_count: u32,
    /// For a merged duplicate: the case it was merged into.
    pub merged_into: Option<i64>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// The most specific cell code of the case's chain.
    pub fn cell(&self) -> Option<&str> {
        self.cells.last().map(|c| c.code.as_str())
    }

    /// The code of the chain's cell at `level`.
    pub fn cell_at(&self, level: Level) -> Option<&str> {
        self.cells
            .iter()
            .find(|c| c.level == level)
            .map(|c| c.code.as_str())
    }

    /// What the permission check needs.
    pub fn scope(&self) -> CaseScope<'_> {
        CaseScope {
            state: self.state,
            resume_state: self.resume_state,
            cell: self.cell(),
            assigned_unit: self.assigned_unit.as_deref(),
            unit_staffed: true,
        }
    }

    /// What the permission check needs, knowing whether an active handler holds the unit the
    /// case is dispatched to.
    pub fn scope_staffed(&self, unit_staffed: bool) -> CaseScope<'_> {
        CaseScope {
            unit_staffed,
            ..self.scope()
        }
    }

    /// Whether the case is past its current deadline at `now`.
    pub fn overdue_at(&self, now: DateTime<Utc>) -> bool {
        self.state.is_open() && self.due_at.is_some_and(|due| now > due)
    }
}

/// One entry of a case's log: append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the case's log, from 1.
    pub seq: u32,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (a username, or `open311:<key name>` for a civic app).
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// The state before (none for the report).
    pub from: Option<CaseState>,
    /// The state after.
    pub to: CaseState,
    /// The note given.
    pub note: Option<String>,
    /// Photos attached to this step (SHA-256 ids).
    pub photos: Vec<String>,
    /// Action-specific detail: the unit dispatched to, the extension asked, the case merged into,
    /// the asset linked (and the one before).
    pub detail: serde_json::Value,
}

/// Deadlines of a case's stages, computed from its log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Schedule {
    /// Handling (处置) deadline: from the latest dispatch or failed verification, plus approved
    /// extensions, minus pauses. None before dispatch, or while paused.
    pub handle_due: Option<DateTime<Utc>>,
    /// Verification (核查) deadline, from the latest `handle`.
    pub verify_due: Option<DateTime<Utc>>,
    /// Closing (结案) deadline, from the latest `verify`.
    pub close_due: Option<DateTime<Utc>>,
    /// The deadline of the stage the case is in now (None when it has none or is paused).
    pub due: Option<DateTime<Utc>>,
    /// Whether the clock is paused now.
    pub paused: bool,
    /// Whether every stage finished within its limit (for closed cases; None otherwise).
    pub on_time: Option<bool>,
}

impl Schedule {
    /// Whether the case is past its current deadline at `now`.
    pub fn overdue_at(&self, now: DateTime<Utc>) -> bool {
        self.due.is_some_and(|due| now > due)
    }
}

/// Computes the schedule of a case from its log (in order), its category and the calendar.
///
/// Each stage's clock starts at the entry that opens it: handling at the latest `dispatch` or
/// `reject` (rework gets a fresh limit), verification at the latest `handle`, closing at the
/// latest `verify`. Suspension and a pending extension stop the clock; an approved extension
/// adds its amount (in the category's unit) to the handling limit of the stage it was asked in.
pub fn schedule(log: &[LogEntry], category: &Category, calendar: &WorkCalendar) -> Schedule {
    let mut pauses: Vec<Pause> = Vec::new();
    let mut handle_start: Option<DateTime<Utc>> = None;
    let mut handle_extra = 0.0;
    let mut verify_start = None;
    let mut close_start = None;
    let mut handled_at = None;
    let mut verified_at = None;
    let mut closed_at = None;
    let mut state = CaseState::Reported;
    for entry in log {
        if entry.from.is_some_and(CaseState::is_paused)
            && !entry.to.is_paused()
            && let Some(open) = pauses.last_mut().filter(|p| p.end.is_none())
        {
            open.end = Some(entry.at);
        }
        if entry.to.is_paused() && !entry.from.is_some_and(CaseState::is_paused) {
            pauses.push(Pause {
                start: entry.at,
                end: None,
            });
        }
        match entry.action {
            Action::Dispatch | Action::Reject => {
                handle_start = Some(entry.at);
                handle_extra = 0.0;
                handled_at = None;
                verify_start = None;
                verified_at = None;
                close_start = None;
            }
            Action::ApproveExtension => {
                handle_extra += entry
                    .detail
                    .get("amount")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(0.0);
            }
            Action::Handle => {
                handled_at = Some(entry.at);
                verify_start = Some(entry.at);
            }
            Action::Verify => {
                verified_at = Some(entry.at);
                close_start = Some(entry.at);
            }
            Action::Close => closed_at = Some(entry.at),
            _ => {}
        }
        state = entry.to;
    }
    let due = |start: Option<DateTime<Utc>>, stage: Stage, extra: f64| {
        let start = start?;
        let limit = TimeLimit {
            amount: match stage {
                Stage::Handle => category.limits.handle,
                Stage::Verify => category.limits.verify,
                Stage::Close => category.limits.close,
            } + extra,
            unit: category.time_unit,
        };
        calendar.deadline(start, limit, &pauses)
    };
    let handle_due = due(handle_start, Stage::Handle, handle_extra);
    let verify_due = due(verify_start, Stage::Verify, 0.0);
    let close_due = due(close_start, Stage::Close, 0.0);
    let current = match state {
        CaseState::Dispatched
        | CaseState::InProgress
        | CaseState::ExtensionPending
        | CaseState::Suspended => handle_due,
        CaseState::Handled => verify_due,
        CaseState::Verified => close_due,
        _ => None,
    };
    let within = |at: Option<DateTime<Utc>>, due: Option<DateTime<Utc>>| match (at, due) {
        (Some(at), Some(due)) => at <= due,
        _ => true,
    };
    let on_time = (state == CaseState::Closed && handle_start.is_some()).then(|| {
        within(handled_at, handle_due)
            && within(verified_at, verify_due)
            && within(closed_at, close_due)
    });
    Schedule {
        handle_due,
        verify_due,
        close_due,
        due: if state.is_paused() { None } else { current },
        paused: state.is_paused(),
        on_time,
    }
}

/// A case for the tests of the modules that store and evaluate cases.
#[cfg(test)]
pub(crate) fn sample_case(id: i64, reported_at: DateTime<Utc>) -> Case {
    let cell = |level: Level, code: &str, name: &str| CellRef {
        level,
        code: code.into(),
        name: name.into(),
    };
    Case {
        id,
        version: 1,
        category: "0101".into(),
        state: CaseState::Reported,
        resume_state: None,
        description: "井盖破损".into(),
        address: Some("管城街".into()),
        lon: 113.68,
        lat: 34.75,
        cells: vec![
            cell(Level::District, "410104", "管城回族区"),
            cell(Level::Street, "410104001", "北下街街道"),
            cell(Level::Grid, "410104001005006", "西昌社区第6网格"),
        ],
        responsible_unit: Some("西昌社区第6网格工作站".into()),
        assigned_unit: None,
        asset: None,
        photos: Vec::new(),
        reporter: "wang".into(),
        channel: "api".into(),
        reported_at,
        filed_at: None,
        dispatched_at: None,
        handled_at: None,
        verified_at: None,
        closed_at: None,
        due_at: None,
        handle_due_at: None,
        on_time: None,
        rework_count: 0,
        extension_count: 0,
        merged_into: None,
        updated_at: reported_at,
    }
}

#[cfg(test)]
mod tests;
