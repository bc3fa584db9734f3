//! Notebooks uploaded in parts (the portal's `addItem` with
//! `multipart=true`, then `addPart` and `commit`): the bounds, the pending
//! upload as stored, and how its parts become one file.

use std::time::Duration;

use super::ids::ItemId;
use super::notebook::{ItemTitle, Tags, MAX_NOTEBOOK_BYTES};
use super::time::Millis;
use super::user::Username;
use super::ParseError;

/// The most parts one upload may have (`partNum` 1 to this).
pub const MAX_PARTS: u32 = 100;
/// The most bytes of all the parts of one upload together (and of one part).
pub const MAX_UPLOAD_BYTES: usize = MAX_NOTEBOOK_BYTES;
/// How many uploads one owner may have pending (not committed) at once.
pub const MAX_PENDING_UPLOADS: u32 = 10;
/// How long an upload that receives nothing is kept before it is removed.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// A part's number, `partNum`: 1 to [`MAX_PARTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartNumber(u32);

impl PartNumber {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        input
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PARTS).contains(n))
            .map(Self)
            .ok_or_else(|| ParseError::new(format!("must be a whole number from 1 to {MAX_PARTS}")))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where an upload is, as the portal's item `status` names it (a
/// committed upload is an item: `completed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Parts may be added.
    Partial,
    /// Being committed.
    Processing,
    /// The commit found no notebook; the message says why.
    Failed,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Partial => "partial",
            UploadState::Processing => "processing",
            UploadState::Failed => "failed",
        }
    }

    pub fn from_stored(value: &str) -> Option<Self> {
        match value {
            "partial" => Some(Self::Partial),
            "processing" => Some(Self::Processing),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An upload not yet committed: the item it will become.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The id the item will have.
    pub id: ItemId,
    pub owner: Username,
    pub title: ItemTitle,
    pub tags: Tags,
    pub state: UploadState,
    /// Why it failed, when it did.
    pub message: String,
    pub created: Millis,
    /// When it last received a part.
    pub modified: Millis,
}

/// The file the parts make, joined in `partNum` order; the parts must be
/// numbered 1 to N with none missing. `parts` is sorted by number.
pub fn join_parts(parts: Vec<(u32, Vec<u8>)>) -> Result<Vec<u8>, ParseError> {
    if parts.is_empty() {
        return Err(ParseError::new("has no parts: addPart uploads them"));
    }
    let mut file = Vec::new();
    for (expected, (number, bytes)) in (1u32..).zip(parts) {
        if number != expected {
            return Err(ParseError::new(format!(
                "is missing part {expected} (the parts must be numbered from 1 with none left out)"
            )));
        }
        file.extend_from_slice(&bytes);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_numbers_hold_their_bounds() {
        assert_eq!(PartNumber::parse("1").unwrap().get(), 1);
        assert_eq!(PartNumber::parse("100").unwrap().get(), MAX_PARTS);
        for bad in ["0", "101", "-1", "x", ""] {
            assert!(PartNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parts_join_in_order_and_a_gap_is_named() {
        let joined = join_parts(vec![(1, b"ab".to_vec()), (2, b"cd".to_vec())]).unwrap();
        assert_eq!(joined, b"abcd");
        let gap = join_parts(vec![(1, vec![]), (3, vec![])]).unwrap_err();
        assert!(gap.0.contains("part 2"), "{gap}");
        assert!(join_parts(vec![]).unwrap_err().0.contains("no parts"));
    }

    #[test]
    fn states_read_back_as_written() {
        for s in [
            UploadState::Partial,
            UploadState::Processing,
            UploadState::Failed,
        ] {
            assert_eq!(UploadState::from_stored(s.as_str()), Some(s));
        }
    }
}
