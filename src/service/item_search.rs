//! The portal's item search: the caller's visible items matched against a
//! parsed query, sorted and paged, off the async threads, one search at a
//! time and within a time budget (a query may have 64 terms, and a user
//! many items).

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use super::items::{page_of, Found, Items, Paging};
use crate::domain::access::{may_manage, Decision};
use crate::domain::notebook::{Item, TYPE_KEYWORDS};
use crate::domain::search::{words, ItemField, ItemQuery, SortField, SortOrder, Term, PORTAL_ID};
use crate::domain::user::User;
use crate::domain::ParseError;
use crate::error::{Error, Result};

/// The longest a search may take before it is refused as too broad.
const SEARCH_BUDGET: Duration = Duration::from_secs(5);

/// An item's searchable values, split and lowercased once per search.
struct Searchable {
    item: Item,
    title: Vec<String>,
    title_lowered: String,
    tags: Vec<Vec<String>>,
    tags_lowered: Vec<String>,
    owner: String,
    id: String,
}

impl Searchable {
    fn of(item: Item) -> Self {
        let tags = item.tags.as_slice();
        Self {
            title: words(item.title.as_str()),
            title_lowered: item.title.as_str().to_lowercase(),
            tags: tags.iter().map(|t| words(t)).collect(),
            tags_lowered: tags.iter().map(|t| t.to_lowercase()).collect(),
            owner: item.owner.as_str().to_lowercase(),
            id: item.id.as_str().to_lowercase(),
            item,
        }
    }

    /// Whether the item matches one term of a search.
    fn matches(&self, term: &Term<ItemField>) -> bool {
        let p = &term.pattern;
        match term.field {
            None => {
                p.text_words(&self.title)
                    || self.tags.iter().any(|t| p.text_words(t))
                    || p.keyword_lowered("notebook")
                    || p.keyword_lowered(&self.owner)
            }
            Some(ItemField::Title) => p.text_words(&self.title),
            Some(ItemField::Type) => p.keyword_lowered("notebook"),
            Some(ItemField::Owner) => p.keyword_lowered(&self.owner),
            Some(ItemField::Id) => p.keyword_lowered(&self.id),
            Some(ItemField::Tags) => self.tags_lowered.iter().any(|t| p.keyword_lowered(t)),
            Some(ItemField::TypeKeywords) => TYPE_KEYWORDS.iter().any(|k| p.keyword(k)),
            Some(ItemField::AccountId) => p.keyword(PORTAL_ID),
        }
    }
}

impl Items {
    /// The items the caller may see that match `query`, in the order and
    /// page asked for. A caller sees what it may manage: an administrator
    /// every item, a user with both privileges its own, anyone else none.
    pub async fn search(
        &self,
        caller: &User,
        query: &ItemQuery,
        paging: &Paging,
    ) -> Result<Found<Item>> {
        let visible = if caller.is_admin() {
            self.items.all_items().await?
        } else if caller.may_author() {
            self.items.items_of(&caller.username).await?
        } else {
            Vec::new()
        };
        let visible: Vec<Item> = visible
            .into_iter()
            .filter(|item| may_manage(caller, &item.owner) == Decision::Allowed)
            .collect();
        let (query, paging) = (query.clone(), paging.clone());
        let _turn = self.searching.acquire().await.map_err(|e| {
            Error::Internal(anyhow::Error::new(e).context("the search turns are closed"))
        })?;
        tokio::task::spawn_blocking(move || matching(visible, &query, &paging))
            .await
            .map_err(|e| Error::Internal(anyhow::Error::new(e).context("a search failed")))?
    }
}

/// The page of `items` that match, sorted; refused once the budget is
/// spent.
fn matching(items: Vec<Item>, query: &ItemQuery, paging: &Paging) -> Result<Found<Item>> {
    let started = Instant::now();
    let mut found = Vec::new();
    for item in items {
        if started.elapsed() > SEARCH_BUDGET {
            return Err(Error::Invalid {
                field: "q",
                problem: ParseError::new(format!(
                    "asks more than can be answered in {} s; use fewer terms or a narrower one",
                    SEARCH_BUDGET.as_secs()
                )),
            });
        }
        let searchable = Searchable::of(item);
        if query.matches(&|t| searchable.matches(t)) {
            found.push(searchable);
        }
    }
    found.sort_by(|a, b| {
        let mut order = Ordering::Equal;
        for key in &paging.sort {
            order = order.then_with(|| {
                let o = compare(*key, a, b);
                match paging.order {
                    SortOrder::Asc => o,
                    SortOrder::Desc => o.reverse(),
                }
            });
        }
        order
            .then_with(|| a.item.created.cmp(&b.item.created))
            .then_with(|| a.item.id.as_str().cmp(b.item.id.as_str()))
    });
    Ok(page_of(found.into_iter().map(|s| s.item).collect(), paging))
}

fn compare(key: SortField, a: &Searchable, b: &Searchable) -> Ordering {
    match key {
        SortField::Title => a.title_lowered.cmp(&b.title_lowered),
        SortField::Created => a.item.created.cmp(&b.item.created),
        SortField::Modified => a.item.modified.cmp(&b.item.modified),
        SortField::Owner | SortField::Username => a.owner.cmp(&b.owner),
        SortField::Type | SortField::FullName | SortField::Unranked => Ordering::Equal,
    }
}
