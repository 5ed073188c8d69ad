//! Bounding boxes in CRS84 (longitude, latitude in degrees).

use geo::{Rect, coord};

/// A validated CRS84 bounding box. `min_lon > max_lon` means the box crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// West edge, degrees.
    pub min_lon: f64,
    /// South edge, degrees.
    pub min_lat: f64,
    /// East edge, degrees.
    pub max_lon: f64,
    /// North edge, degrees.
    pub max_lat: f64,
}

/// Why numbers do not make a bounding box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BboxError {
    /// Neither 4 nor 6 numbers.
    #[error("expected 4 numbers (minLon,minLat,maxLon,maxLat) or 6 (with heights), got {0}")]
    Count(usize),
    /// A part is not a finite number.
    #[error("{0:?} is not a number")]
    NotANumber(String),
    /// A longitude outside [-180, 180] or a latitude outside [-90, 90].
    #[error("coordinates must lie within longitude -180..180 and latitude -90..90")]
    OutOfRange,
    /// South edge north of the north edge.
    #[error("minLat must not be greater than maxLat")]
    Inverted,
}

impl Bbox {
    /// Parses the OGC `bbox` parameter: `minLon,minLat,maxLon,maxLat` or with heights
    /// `minLon,minLat,minH,maxLon,maxLat,maxH` (heights are ignored).
    ///
    /// ```
    /// use citygrid::model::Bbox;
    /// let b = Bbox::parse("113.6,34.7,113.7,34.8").unwrap();
    /// assert_eq!(b.max_lat, 34.8);
    /// assert!(Bbox::parse("1,2,3").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, BboxError> {
        let numbers = text
            .split(',')
            .map(|part| {
                part.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| BboxError::NotANumber(part.to_owned()))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        Self::from_numbers(&numbers)
    }

    /// Builds a box from 4 or 6 numbers.
    pub fn from_numbers(numbers: &[f64]) -> Result<Self, BboxError> {
        let (min_lon, min_lat, max_lon, max_lat) = match *numbers {
            [a, b, c, d] => (a, b, c, d),
            [a, b, _, d, e, _] => (a, b, d, e),
            _ => return Err(BboxError::Count(numbers.len())),
        };
        if ![min_lon, max_lon]
            .iter()
            .all(|x| (-180.0..=180.0).contains(x))
            || ![min_lat, max_lat]
                .iter()
                .all(|y| (-90.0..=90.0).contains(y))
        {
            return Err(BboxError::OutOfRange);
        }
        if min_lat > max_lat {
            return Err(BboxError::Inverted);
        }
        Ok(Self {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// The box as one or two rectangles (two when it crosses the antimeridian).
    pub fn rects(&self) -> Vec<Rect<f64>> {
        if self.min_lon <= self.max_lon {
            vec![Rect::new(
                coord! { x: self.min_lon, y: self.min_lat },
                coord! { x: self.max_lon, y: self.max_lat },
            )]
        } else {
            vec![
                Rect::new(
                    coord! { x: self.min_lon, y: self.min_lat },
                    coord! { x: 180.0, y: self.max_lat },
                ),
                Rect::new(
                    coord! { x: -180.0, y: self.min_lat },
                    coord! { x: self.max_lon, y: self.max_lat },
                ),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_numbers_drop_the_heights() {
        let b = Bbox::parse("1,2,0,3,4,100").unwrap();
        assert_eq!(
            (b.min_lon, b.min_lat, b.max_lon, b.max_lat),
            (1.0, 2.0, 3.0, 4.0)
        );
    }

    #[test]
    fn a_bbox_with_min_lat_greater_than_max_lat_is_rejected() {
        assert_eq!(Bbox::parse("0,10,1,5"), Err(BboxError::Inverted));
    }

    #[test]
    fn out_of_range_and_non_numbers_are_rejected() {
        assert_eq!(Bbox::parse("0,0,181,1"), Err(BboxError::OutOfRange));
        assert!(matches!(
            Bbox::parse("0,0,x,1"),
            Err(BboxError::NotANumber(_))
        ));
        assert!(matches!(
            Bbox::parse("0,0,NaN,1"),
            Err(BboxError::NotANumber(_))
        ));
    }

    #[test]
    fn a_box_across_the_antimeridian_splits_in_two() {
        assert_eq!(Bbox::parse("170,-10,-170,10").unwrap().rects().len(), 2);
    }
}
