//! Identifiers: notebook item ids (32 lowercase hex, like portal items),
//! and receiver, job, event and node ids (UUIDs).

use std::fmt;

use super::ParseError;

/// A notebook item id: 32 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemId(String);

impl ItemId {
    /// Accepts 32 hex digits in either case and keeps them lowercase, as
    /// portal item ids are compared case-insensitively.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::new("is required"));
        }
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseError::new(
                "must be an item id of 32 hexadecimal characters",
            ));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A webhook receiver id: a UUID in its hyphenated lowercase form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiverId(uuid::Uuid);

impl ReceiverId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        uuid::Uuid::try_parse(input.trim())
            .map(Self)
            .map_err(|_| ParseError::new("must be a webhook receiver id (a UUID)"))
    }

    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for ReceiverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// One running hookbook process, as the job queue knows it: a fresh
/// random id at every start, so a restarted node never holds the leases of
/// its previous life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(uuid::Uuid);

impl NodeId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        uuid::Uuid::try_parse(input)
            .map(Self)
            .map_err(|_| ParseError::new("must be a node id (a UUID)"))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// A job id: a UUID, time-ordered (v7) when hookbook makes it, so that
/// index inserts stay at the right edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(uuid::Uuid);

/// A stored webhook event's id: a UUID, time-ordered (v7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(uuid::Uuid);

macro_rules! time_ordered_id {
    ($name:ident, $what:literal) => {
        impl $name {
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn parse(input: &str) -> Result<Self, ParseError> {
                uuid::Uuid::try_parse(input.trim())
                    .map(Self)
                    .map_err(|_| ParseError::new(concat!("must be ", $what, " (a UUID)")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.hyphenated())
            }
        }
    };
}

/// The id of one replay of many jobs at once, which its jobs carry, so
/// that the replay can be seen and undone as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(uuid::Uuid);

time_ordered_id!(JobId, "a job id");
time_ordered_id!(EventId, "an event id");
time_ordered_id!(BatchId, "a replay batch id");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_item_id_is_kept_lowercase() {
        let id = ItemId::parse("E045A267621441F5A27DDD36E94890AA").unwrap();
        assert_eq!(id.as_str(), "e045a267621441f5a27ddd36e94890aa");
    }

    #[test]
    fn an_item_id_of_the_wrong_length_or_alphabet_is_refused() {
        assert!(ItemId::parse("").is_err());
        assert!(ItemId::parse("e045a267621441f5a27ddd36e94890a").is_err());
        assert!(ItemId::parse("g045a267621441f5a27ddd36e94890aa").is_err());
        assert!(ItemId::parse("e045a267-6214-41f5-a27d-dd36e94890aa").is_err());
    }

    #[test]
    fn a_generated_item_id_parses() {
        let id = ItemId::generate();
        assert_eq!(ItemId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn job_and_event_ids_round_trip_and_sort_by_creation() {
        let (first, second) = (JobId::generate(), JobId::generate());
        assert_eq!(JobId::parse(&first.to_string()).unwrap(), first);
        assert!(first < second);
        let event = EventId::generate();
        assert_eq!(EventId::parse(&event.to_string()).unwrap(), event);
        assert!(JobId::parse("job-1").is_err());
    }

    #[test]
    fn a_receiver_id_round_trips_through_text() {
        let id = ReceiverId::generate();
        assert_eq!(ReceiverId::parse(&id.to_string()).unwrap(), id);
        assert!(ReceiverId::parse("not-a-uuid").is_err());
    }

    proptest! {
        #[test]
        fn item_id_parse_never_panics_and_accepts_only_32_hex(s in "\\PC{0,40}") {
            if let Ok(id) = ItemId::parse(&s) {
                prop_assert_eq!(id.as_str().len(), 32);
                prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
        }

        #[test]
        fn any_32_hex_digits_are_an_item_id(s in "[0-9a-fA-F]{32}") {
            let id = ItemId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.to_ascii_lowercase());
        }
    }
}
