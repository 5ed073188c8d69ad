//! Word lists for synthetic names: people, roads, parks, units. Everything here is made up
//! except the arterial road names, which are real roads of 管城回族区 placed approximately.

use rand::{Rng, seq::IndexedRandom};

/// Common surnames, with the Hui surnames frequent in 管城回族区 (马, 白, 海, 沙, 丁, 金).
const SURNAMES: [&str; 40] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹", "袁",
    "白", "海", "沙", "丁", "金", "田", "任", "姚",
];

/// Given names of one or two characters.
const GIVEN_NAMES: [&str; 48] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "秀英", "桂英", "建华", "红梅", "国强", "志刚", "海燕", "晓东", "丽娟",
    "建国", "玉兰", "文博", "子涵", "浩然", "雨桐", "思远", "佳怡", "梓轩", "欣怡", "宇航", "俊杰",
    "婷婷", "晨曦", "秀兰", "振华", "春燕", "卫东", "淑珍",
];

/// First characters of generated place names.
const STEM_FIRST: [&str; 36] = [
    "康", "建", "兴", "宝", "福", "长", "顺", "惠", "瑞", "永", "光", "和", "民", "友", "团", "幸",
    "文", "育", "博", "锦", "春", "秋", "金", "银", "玉", "海", "紫", "丁", "石", "梧", "青", "翠",
    "凤", "祥", "安", "嘉",
];

/// Second characters of generated place names.
const STEM_SECOND: [&str; 30] = [
    "宁", "业", "华", "平", "寿", "安", "和", "民", "丰", "乐", "明", "兴", "德", "泰", "源", "达",
    "盛", "荣", "祥", "庆", "新", "园", "林", "桂", "杏", "兰", "棠", "荆", "榴", "桐",
];

/// Chinese numerals used to tell apart reused names ("二路", "三街").
const NUMERALS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// A synthetic person's name.
pub(crate) fn person(rng: &mut impl Rng) -> String {
    let surname = SURNAMES.choose(rng).copied().unwrap_or("王");
    let given = GIVEN_NAMES.choose(rng).copied().unwrap_or("伟");
    format!("{surname}{given}")
}

/// Hands out two-character stems in a seeded order, then the same stems with numerals, so
/// names stay unique for a long time and never run out.
#[derive(Debug)]
pub(crate) struct StemPool {
    stems: Vec<String>,
    next: usize,
}

impl StemPool {
    /// A pool in an order drawn from `rng`.
    pub(crate) fn new(rng: &mut impl Rng) -> Self {
        use rand::seq::SliceRandom;
        let mut stems: Vec<String> = STEM_FIRST
            .iter()
            .flat_map(|a| STEM_SECOND.iter().map(move |b| format!("{a}{b}")))
            .filter(|s| s.chars().next() != s.chars().nth(1))
            .collect();
        stems.shuffle(rng);
        Self { stems, next: 0 }
    }

    /// The next stem; after the first round, stems come back with a numeral ("康宁二").
    pub(crate) fn next_stem(&mut self) -> String {
        let round = self.next / self.stems.len();
        let stem = &self.stems[self.next % self.stems.len()];
        self.next += 1;
        if round == 0 {
            stem.clone()
        } else {
            let numeral = NUMERALS[(round % (NUMERALS.len() - 1)) + 1];
            let cycle = round / (NUMERALS.len() - 1);
            if cycle == 0 {
                format!("{stem}{numeral}")
            } else {
                format!("{stem}{numeral}{cycle}")
            }
        }
    }
}

/// Short form of a community name: "新华社区居委会" → "新华社区", "河西袁村委会" → "河西袁村".
pub(crate) fn community_short(name: &str) -> String {
    for suffix in ["社区居民委员会", "社区居委会"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return format!("{stem}社区");
        }
    }
    for suffix in ["村民委员会", "村委会"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return if stem.ends_with('村') {
                stem.to_owned()
            } else {
                format!("{stem}村")
            };
        }
    }
    name.to_owned()
}

/// Short form of a street name: "北下街街道" → "北下街", "圃田乡" → "圃田".
pub(crate) fn street_short(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("街道") {
        return stem.to_owned();
    }
    if let Some(stem) = name.strip_suffix('乡') {
        return stem.to_owned();
    }
    if let Some(stem) = name.strip_suffix('镇') {
        return stem.to_owned();
    }
    name.to_owned()
}

/// The unit running a street: "北下街街道办事处", or "圃田乡人民政府" for a township.
pub(crate) fn street_unit(name: &str) -> String {
    if name.ends_with('乡') || name.ends_with('镇') {
        format!("{name}人民政府")
    } else {
        format!("{name}办事处")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn community_names_lose_their_committee_suffix() {
        assert_eq!(community_short("新华社区居委会"), "新华社区");
        assert_eq!(
            community_short("锦艺新时代社区居民委员会"),
            "锦艺新时代社区"
        );
        assert_eq!(community_short("河西袁村委会"), "河西袁村");
        assert_eq!(community_short("小刘村村委会"), "小刘村");
        assert_eq!(community_short("新郑路社区"), "新郑路社区");
    }

    #[test]
    fn townships_are_run_by_a_peoples_government() {
        assert_eq!(street_unit("北下街街道"), "北下街街道办事处");
        assert_eq!(street_unit("圃田乡"), "圃田乡人民政府");
    }

    #[test]
    fn stems_do_not_repeat_within_three_thousand_draws() {
        let mut pool = StemPool::new(&mut ChaCha8Rng::seed_from_u64(1));
        let mut seen: Vec<String> = (0..3000).map(|_| pool.next_stem()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 3000);
    }
}
