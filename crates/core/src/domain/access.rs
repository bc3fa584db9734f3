//! Who may do what: the privilege rules of the contract in one place.

use super::user::{User, Username};

/// What a caller asks to do with a resource owned by `owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// The caller lacks the role or privileges for this kind of resource.
    NotAnAuthor,
    /// The caller may author, but this resource belongs to someone else.
    NotTheOwner,
}

/// Administrators manage everything; a `user` holding both privileges
/// manages only what it owns; everyone else is refused.
pub fn may_manage(caller: &User, owner: &Username) -> Decision {
    if caller.is_admin() {
        Decision::Allowed
    } else if !caller.may_author() {
        Decision::NotAnAuthor
    } else if &caller.username == owner {
        Decision::Allowed
    } else {
        Decision::NotTheOwner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::{Privilege, Role};

    fn user(name: &str, role: Role, privileges: Vec<Privilege>) -> User {
        User {
            username: Username::parse(name).unwrap(),
            role,
            privileges,
        }
    }

    #[test]
    fn the_rules_of_the_contract_hold() {
        let both = vec![Privilege::NotebooksCreate, Privilege::NotebooksWebhooks];
        let alice = Username::parse("alice").unwrap();
        let admin = user("admin", Role::Administrator, vec![]);
        let owner = user("alice", Role::User, both.clone());
        let other = user("bob", Role::User, both);
        let plain = user("alice", Role::User, vec![Privilege::NotebooksCreate]);
        assert_eq!(may_manage(&admin, &alice), Decision::Allowed);
        assert_eq!(may_manage(&owner, &alice), Decision::Allowed);
        assert_eq!(may_manage(&other, &alice), Decision::NotTheOwner);
        assert_eq!(may_manage(&plain, &alice), Decision::NotAnAuthor);
    }
}
