//! The levels of the grid hierarchy (区 → 街道 → 社区 → 网格), as the cell layer's `level`
//! property and the cases' grid chains name them.

use serde::{Deserialize, Serialize};

/// A level of the grid hierarchy; it reads and writes as its `level` property value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 区.
    District,
    /// 街道.
    Street,
    /// 社区.
    Community,
    /// 网格.
    Grid,
}

impl Level {
    /// Every level, outermost first.
    pub const ALL: [Level; 4] = [
        Level::District,
        Level::Street,
        Level::Community,
        Level::Grid,
    ];

    /// The `level` property value.
    pub fn name(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Street => "street",
            Self::Community => "community",
            Self::Grid => "grid",
        }
    }

    /// Parses a `level` property value.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn a_level_reads_and_writes_as_its_property_value() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.name()), Some(level));
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.name()));
            assert_eq!(serde_json::from_str::<Level>(&json).unwrap(), level);
        }
        assert_eq!(Level::parse("province"), None);
    }
}
