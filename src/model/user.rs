//! People who use the service: their validated names, their roles in the grid-management
//! organisation, and the grid cells a grid worker is assigned to.
//!
//! Cell codes are the division codes of the grid hierarchy, each level a prefix of the next:
//! 6 digits for the district, 9 for a street, 12 for a community, 15 for a grid.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization as _;

/// Why a user value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// A user name must be 1–64 letters, digits, `.`, `_` or `-`.
    #[error(
        "user name {0:?} is not valid: use 1–64 characters of letters, digits, '.', '_' and '-'"
    )]
    InvalidUsername(String),
    /// No role has this name.
    #[error(
        "role {0:?} is not known: use admin, dispatcher, supervisor, handler, worker, analyst or viewer"
    )]
    UnknownRole(String),
}

/// What a user may do.
///
/// ```
/// use citygrid::model::user::Role;
/// assert_eq!(Role::parse("worker"), Some(Role::Worker));
/// assert_eq!(Role::Worker.label_zh(), "网格员");
/// assert_eq!(Role::parse("root"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users and settings (系统管理员).
    Admin,
    /// The command centre (指挥中心): files reports as cases and dispatches them.
    Dispatcher,
    /// The supervision centre (监督中心): verifies handled cases and closes them.
    Supervisor,
    /// A specialised department or responsible unit (专业部门/责任单位): handles what is
    /// dispatched to its unit.
    Handler,
    /// A grid worker (网格员): reports and verifies in the cells assigned to them.
    Worker,
    /// Reads cases and metrics for evaluation.
    Analyst,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Dispatcher,
        Role::Supervisor,
        Role::Handler,
        Role::Worker,
        Role::Analyst,
        Role::Viewer,
    ];

    /// Parses the role's name as [`Role::as_str`] writes it.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's name in the API, the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Dispatcher => "dispatcher",
            Self::Supervisor => "supervisor",
            Self::Handler => "handler",
            Self::Worker => "worker",
            Self::Analyst => "analyst",
            Self::Viewer => "viewer",
        }
    }

    /// The role's Chinese name.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Admin => "系统管理员",
            Self::Dispatcher => "指挥中心",
            Self::Supervisor => "监督中心",
            Self::Handler => "责任单位",
            Self::Worker => "网格员",
            Self::Analyst => "分析员",
            Self::Viewer => "只读用户",
        }
    }

    /// The role's English name.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Admin => "Administrator",
            Self::Dispatcher => "Dispatcher (command centre)",
            Self::Supervisor => "Supervisor (supervision centre)",
            Self::Handler => "Unit handler",
            Self::Worker => "Grid worker",
            Self::Analyst => "Analyst",
            Self::Viewer => "Viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = UserError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UserError::UnknownRole(s.to_owned()))
    }
}

/// A validated user name: 1–64 Unicode letters, digits, `.`, `_` and `-`, in Unicode NFC
/// (so two spellings of the same letters are one name); case-sensitive.
///
/// ```
/// use citygrid::model::user::Username;
/// assert_eq!(Username::parse("wang.wei").unwrap().as_str(), "wang.wei");
/// assert!(Username::parse("王伟").is_ok());
/// assert!(Username::parse("wang wei").is_err());
/// assert!(Username::parse("").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

/// The longest user name, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

impl Username {
    /// Validates `raw` as a user name.
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let name: String = raw.nfc().collect();
        let count = name.chars().count();
        let ok = (1..=MAX_USERNAME_CHARS).contains(&count)
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(name))
        } else {
            Err(UserError::InvalidUsername(raw.to_owned()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Username {
    type Err = UserError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Username {
    type Error = UserError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

/// A user as stored (never with the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// The store's key.
    pub id: i64,
    /// The login name.
    pub username: Username,
    /// The name shown to people, e.g. 王伟.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The unit (责任单位) a handler works for, matched against a cell's `responsible_unit`.
    pub unit: Option<String>,
    /// The grid cell codes assigned to the user (grid workers), sorted.
    pub cells: Vec<String>,
    /// A disabled user cannot log in and their tokens are refused.
    pub disabled: bool,
    /// When the user was added.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// Whether `code` is one of the user's cells or lies inside one: a user assigned a
    /// community (12 digits) covers every grid (15 digits) of it. Roles are not considered: a
    /// user without cells covers nothing.
    ///
    /// ```
    /// # use citygrid::model::user::{Role, User, Username};
    /// let user = User {
    ///     id: 1,
    ///     username: Username::parse("wang").unwrap(),
    ///     display_name: "王伟".into(),
    ///     role: Role::Worker,
    ///     unit: None,
    ///     cells: vec!["410104001001".into()],
    ///     disabled: false,
    ///     created_at: chrono::DateTime::UNIX_EPOCH,
    /// };
    /// assert!(user.covers_cell("410104001001003"));
    /// assert!(user.covers_cell("410104001001"));
    /// assert!(!user.covers_cell("410104001"));
    /// assert!(!user.covers_cell("410104001002003"));
    /// ```
    pub fn covers_cell(&self, code: &str) -> bool {
        self.cells
            .iter()
            .any(|cell| code.starts_with(cell.as_str()))
    }
}

/// A user to be added.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The login name.
    pub username: Username,
    /// The name shown to people.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The unit (责任单位) of a handler.
    pub unit: Option<String>,
    /// Grid cell codes (grid workers).
    pub cells: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(cells: &[&str]) -> User {
        User {
            id: 1,
            username: Username::parse("wang").unwrap(),
            display_name: "王伟".into(),
            role: Role::Worker,
            unit: None,
            cells: cells.iter().map(|c| (*c).to_owned()).collect(),
            disabled: false,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn every_role_parses_back_from_its_name_and_has_both_labels() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert!(!role.label_zh().is_empty() && !role.label_en().is_empty());
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str())
            );
        }
        assert_eq!(
            "Admin".parse::<Role>(),
            Err(UserError::UnknownRole("Admin".into()))
        );
    }

    #[test]
    fn user_names_allow_letters_digits_dots_underscores_and_hyphens() {
        for ok in [
            "wang",
            "wang.wei_2-b",
            "王伟",
            "Zhang",
            "a",
            &"x".repeat(64),
        ] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "wang wei",
            "wang@x",
            "a/b",
            "名字!",
            &"x".repeat(65),
            "tab\t",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_names_are_case_sensitive_and_normalised() {
        assert_ne!(
            Username::parse("Wang").unwrap(),
            Username::parse("wang").unwrap()
        );
        // "é" precomposed and as e + combining acute accent are one name.
        assert_eq!(
            Username::parse("jos\u{e9}").unwrap(),
            Username::parse("jose\u{301}").unwrap()
        );
    }

    #[test]
    fn a_user_name_deserialises_only_when_valid() {
        let name: Username = serde_json::from_str("\"wang\"").unwrap();
        assert_eq!(name.to_string(), "wang");
        assert!(serde_json::from_str::<Username>("\"wang wei\"").is_err());
    }

    #[test]
    fn a_worker_covers_its_cells_and_everything_inside_them() {
        let user = worker(&["410104001001001", "410104002003"]);
        assert!(user.covers_cell("410104001001001"));
        assert!(user.covers_cell("410104002003"));
        assert!(user.covers_cell("410104002003007"));
        assert!(!user.covers_cell("410104001001002"), "a sibling grid");
        assert!(!user.covers_cell("410104001001"), "the parent community");
        assert!(!user.covers_cell("410104002"), "the parent street");
    }

    #[test]
    fn a_user_without_cells_covers_nothing() {
        assert!(!worker(&[]).covers_cell("410104001001001"));
    }
}
