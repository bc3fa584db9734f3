//! Users, their role and privileges, and the password they sign in with.

use std::fmt;
use std::str::FromStr;

use super::sensitive::Sensitive;
use super::ParseError;

/// A user name: 1 to 128 characters of letters, digits and `_ . @ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::new("is required"));
        }
        if s.chars().count() > 128 {
            return Err(ParseError::new("must be at most 128 characters"));
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
        {
            return Err(ParseError::new(
                "may contain only letters, digits and the characters _ . @ -",
            ));
        }
        // Not a path's `.` or `..` in the portal's URLs, nor an option.
        if s.chars().all(|c| c == '.') || s.starts_with('-') {
            return Err(ParseError::new("must not be only dots or begin with '-'"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two roles of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Administrator,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::User => "user",
        }
    }
}

impl FromStr for Role {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "administrator" => Ok(Role::Administrator),
            "user" => Ok(Role::User),
            other => Err(ParseError::new(format!(
                "unknown role '{other}': expected administrator or user"
            ))),
        }
    }
}

/// A privilege a `user` may hold. Administrators hold all of them implicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Privilege {
    /// "Create and edit notebooks".
    NotebooksCreate,
    /// The custom-role privilege for webhook receivers.
    NotebooksWebhooks,
}

impl Privilege {
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::NotebooksCreate => "notebooks:create",
            Privilege::NotebooksWebhooks => "notebooks:webhooks",
        }
    }
}

impl FromStr for Privilege {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "notebooks:create" => Ok(Privilege::NotebooksCreate),
            "notebooks:webhooks" => Ok(Privilege::NotebooksWebhooks),
            other => Err(ParseError::new(format!(
                "unknown privilege '{other}': expected notebooks:create or notebooks:webhooks"
            ))),
        }
    }
}

/// A user as the rest of the program sees it (no password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: Username,
    pub role: Role,
    pub privileges: Vec<Privilege>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }

    /// Whether this user may manage notebooks and webhook receivers at all:
    /// administrators always; a `user` only with both privileges.
    pub fn may_author(&self) -> bool {
        self.is_admin()
            || (self.privileges.contains(&Privilege::NotebooksCreate)
                && self.privileges.contains(&Privilege::NotebooksWebhooks))
    }
}

/// A password as typed by a person; never printed.
#[derive(Debug, Clone)]
pub struct Password(Sensitive<String>);

impl Password {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if input.len() > 1024 {
            return Err(ParseError::new("must be at most 1024 bytes"));
        }
        Ok(Self(Sensitive::new(input.to_string())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, privileges: Vec<Privilege>) -> User {
        User {
            username: Username::parse("u").unwrap(),
            role,
            privileges,
        }
    }

    #[test]
    fn a_user_needs_both_privileges_to_author() {
        use Privilege::*;
        assert!(user(Role::Administrator, vec![]).may_author());
        assert!(user(Role::User, vec![NotebooksCreate, NotebooksWebhooks]).may_author());
        assert!(!user(Role::User, vec![NotebooksCreate]).may_author());
        assert!(!user(Role::User, vec![NotebooksWebhooks]).may_author());
        assert!(!user(Role::User, vec![]).may_author());
    }

    #[test]
    fn usernames_refuse_spaces_and_slashes() {
        assert!(Username::parse("portal admin").is_err());
        assert!(Username::parse("a/b").is_err());
        assert!(Username::parse("").is_err());
        assert_eq!(Username::parse(" admin ").unwrap().as_str(), "admin");
    }

    #[test]
    fn roles_and_privileges_parse_from_their_names() {
        assert_eq!("user".parse::<Role>().unwrap(), Role::User);
        assert!("root".parse::<Role>().is_err());
        assert_eq!(
            "notebooks:webhooks".parse::<Privilege>().unwrap(),
            Privilege::NotebooksWebhooks
        );
        assert!("notebooks:everything".parse::<Privilege>().is_err());
    }
}
