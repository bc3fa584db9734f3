//! The portal's search syntax (`q` of `sharing/rest/search` and
//! `community/users`), parsed once into a [`Query`], and the sort orders
//! a search may ask for.
//!
//! What is understood: free text, `*`, `field:value` for the fields of the
//! kind searched, quoted values (`title:"daily report"`), a trailing `*`
//! (`title:dai*`), `AND`, `OR`, `NOT` (and `-` before a term), and
//! parentheses. Terms with no operator between them are joined by `AND`:
//! the ArcGIS API for Python adds `accountid:<portal id>` to every query it
//! sends, which narrows the search only under `AND`. `NOT` binds tighter
//! than `AND`, which binds tighter than `OR`. Matching is case-insensitive;
//! a value matches a text field (a title) when its words appear there in
//! order, and a keyword field (an owner, a type, a tag) when it is the
//! whole value.

use std::fmt;
use std::marker::PhantomData;

use super::ParseError;

/// The id of an ArcGIS Enterprise portal (every one has this id): this
/// portal's, which queries name as `accountid`.
pub const PORTAL_ID: &str = "0123456789ABCDEF";

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2048;
/// How deeply parentheses and `NOT`s may nest.
pub const MAX_DEPTH: usize = 32;
/// The most terms a query may have: each is matched against every item.
pub const MAX_TERMS: usize = 64;
/// The most fields a search may be sorted by.
pub const MAX_SORT_FIELDS: usize = 5;

/// The fields one kind of search knows.
pub trait Fields: Sized + Copy + fmt::Debug {
    /// The field called `name` (lowercase), if this kind has it.
    fn named(name: &str) -> Option<Self>;
    /// The fields' names, for a message.
    const KNOWN: &'static str;
}

/// The fields of an item search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemField {
    Title,
    Type,
    Owner,
    Id,
    Tags,
    TypeKeywords,
    AccountId,
}

impl Fields for ItemField {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "title" => Self::Title,
            "type" => Self::Type,
            "owner" => Self::Owner,
            "id" => Self::Id,
            "tags" => Self::Tags,
            "typekeywords" => Self::TypeKeywords,
            "accountid" | "orgid" => Self::AccountId,
            _ => return None,
        })
    }
    const KNOWN: &'static str = "title, type, owner, id, tags, typekeywords, accountid";
}

/// The fields of a user search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Username,
    FullName,
    Role,
    AccountId,
}

impl Fields for UserField {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "username" => Self::Username,
            "fullname" => Self::FullName,
            "role" => Self::Role,
            "accountid" | "orgid" => Self::AccountId,
            _ => return None,
        })
    }
    const KNOWN: &'static str = "username, fullname, role, accountid";
}

/// What one term asks of a value, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*`: anything.
    Any,
    /// A word or a quoted phrase.
    Exact(String),
    /// A value ending in `*`.
    Prefix(String),
}

impl Pattern {
    /// Whether a keyword field's whole `value` matches.
    pub fn keyword(&self, value: &str) -> bool {
        self.keyword_lowered(&value.to_lowercase())
    }

    /// [`Pattern::keyword`] of a value already lowercased.
    pub fn keyword_lowered(&self, value: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(want) => value == want,
            Pattern::Prefix(want) => value.starts_with(want.as_str()),
        }
    }

    /// Whether a text field matches: the pattern's words appear in `text`
    /// in order (the last one as a prefix, for `Prefix`).
    pub fn text(&self, text: &str) -> bool {
        self.text_words(&words(text))
    }

    /// [`Pattern::text`] of a text already split by [`words`].
    pub fn text_words(&self, have: &[String]) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(want) => {
                let want = words(want);
                !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
            }
            Pattern::Prefix(want) => {
                let want = words(want);
                let Some((last, first)) = want.split_last() else {
                    return true;
                };
                (0..have.len()).any(|at| {
                    let rest = &have[at..];
                    rest.len() > first.len()
                        && rest[..first.len()] == *first
                        && rest[first.len()].starts_with(last.as_str())
                })
            }
        }
    }
}

/// The lowercase words of `text`: its runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// One condition: a field (or free text, `None`) and a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term<F> {
    pub field: Option<F>,
    pub pattern: Pattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr<F> {
    Term(Term<F>),
    Not(Box<Expr<F>>),
    And(Vec<Expr<F>>),
    Or(Vec<Expr<F>>),
}

/// A parsed search query over the fields `F`; empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<F> {
    expr: Option<Expr<F>>,
    text: String,
}

pub type ItemQuery = Query<ItemField>;
pub type UserQuery = Query<UserField>;

impl<F: Fields> Query<F> {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(ParseError::new(format!(
                "is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        let tokens = tokenize::<F>(input)?;
        let terms = tokens
            .iter()
            .filter(|t| matches!(t, Token::Term(_)))
            .count();
        if terms > MAX_TERMS {
            return Err(ParseError::new(format!(
                "has {terms} terms, more than {MAX_TERMS}"
            )));
        }
        let mut parser = Parser {
            tokens,
            at: 0,
            _fields: PhantomData,
        };
        let expr = if parser.tokens.is_empty() {
            None
        } else {
            let expr = parser.or(0)?;
            if let Some(token) = parser.tokens.get(parser.at) {
                return Err(ParseError::new(format!("has an unexpected {token}")));
            }
            Some(expr)
        };
        Ok(Self {
            expr,
            text: input.to_string(),
        })
    }

    /// The query as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a document matches, `term` saying whether it matches one term.
    pub fn matches(&self, term: &impl Fn(&Term<F>) -> bool) -> bool {
        self.expr.as_ref().is_none_or(|e| eval(e, term))
    }
}

fn eval<F>(expr: &Expr<F>, term: &impl Fn(&Term<F>) -> bool) -> bool {
    match expr {
        Expr::Term(t) => term(t),
        Expr::Not(e) => !eval(e, term),
        Expr::And(all) => all.iter().all(|e| eval(e, term)),
        Expr::Or(any) => any.iter().any(|e| eval(e, term)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<F> {
    Open,
    Close,
    And,
    Or,
    Not,
    Term(Term<F>),
}

impl<F> fmt::Display for Token<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Token::Open => "'('",
            Token::Close => "')'",
            Token::And => "AND",
            Token::Or => "OR",
            Token::Not => "NOT",
            Token::Term(_) => "term",
        })
    }
}

fn tokenize<F: Fields>(input: &str) -> Result<Vec<Token<F>>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '"' {
            let (phrase, next) = quoted(&chars, i)?;
            tokens.push(Token::Term(Term {
                field: None,
                pattern: Pattern::Exact(phrase.to_lowercase()),
            }));
            i = next;
        } else if c == '-' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) {
            tokens.push(Token::Not);
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !is_break(chars[i]) && chars[i] != ':' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if chars.get(i) == Some(&':') {
                let field = F::named(&word.to_lowercase()).ok_or_else(|| {
                    ParseError::new(format!(
                        "names the field '{}', which is not one of {}",
                        word.escape_default(),
                        F::KNOWN
                    ))
                })?;
                i += 1;
                let pattern = if chars.get(i) == Some(&'"') {
                    let (phrase, next) = quoted(&chars, i)?;
                    i = next;
                    Pattern::Exact(phrase.to_lowercase())
                } else {
                    let start = i;
                    while i < chars.len() && !is_break(chars[i]) {
                        i += 1;
                    }
                    let value: String = chars[start..i].iter().collect();
                    if value.is_empty() {
                        return Err(ParseError::new(format!(
                            "gives the field '{}' no value",
                            word.escape_default()
                        )));
                    }
                    pattern(&value)?
                };
                tokens.push(Token::Term(Term {
                    field: Some(field),
                    pattern,
                }));
                continue;
            }
            tokens.push(match word.as_str() {
                "AND" | "&&" => Token::And,
                "OR" | "||" => Token::Or,
                "NOT" => Token::Not,
                _ => Token::Term(Term {
                    field: None,
                    pattern: pattern(&word)?,
                }),
            });
        }
    }
    Ok(tokens)
}

fn is_break(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || c == '"'
}

/// The text of the quoted value opening at `chars[at]`, and where it ends.
fn quoted(chars: &[char], at: usize) -> Result<(String, usize), ParseError> {
    let rest = &chars[at + 1..];
    match rest.iter().position(|&c| c == '"') {
        Some(end) => Ok((rest[..end].iter().collect(), at + end + 2)),
        None => Err(ParseError::new("has a quoted value that is not closed")),
    }
}

/// A bare value: `*`, a prefix (`dai*`) or a word.
fn pattern(value: &str) -> Result<Pattern, ParseError> {
    if value == "*" {
        return Ok(Pattern::Any);
    }
    let (body, prefix) = match value.strip_suffix('*') {
        Some(body) => (body, true),
        None => (value, false),
    };
    if body.contains(['*', '?']) {
        return Err(ParseError::new(format!(
            "has the value '{}': a wildcard may only end a value",
            value.escape_default()
        )));
    }
    let body = body.to_lowercase();
    Ok(if prefix {
        Pattern::Prefix(body)
    } else {
        Pattern::Exact(body)
    })
}

struct Parser<F> {
    tokens: Vec<Token<F>>,
    at: usize,
    _fields: PhantomData<F>,
}

impl<F: Fields> Parser<F> {
    fn peek(&self) -> Option<&Token<F>> {
        self.tokens.get(self.at)
    }

    fn deeper(depth: usize) -> Result<usize, ParseError> {
        if depth >= MAX_DEPTH {
            Err(ParseError::new(format!(
                "nests parentheses or NOTs more than {MAX_DEPTH} deep"
            )))
        } else {
            Ok(depth + 1)
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr<F>, ParseError> {
        let mut any = vec![self.and(depth)?];
        while matches!(self.peek(), Some(Token::Or)) {
            self.at += 1;
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Or(any)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr<F>, ParseError> {
        let mut all = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.at += 1;
                    all.push(self.unary(depth)?);
                }
                Some(Token::Term(_) | Token::Open | Token::Not) => all.push(self.unary(depth)?),
                _ => break,
            }
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::And(all)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr<F>, ParseError> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Not) => {
                self.at += 1;
                let inner = self.unary(Self::deeper(depth)?)?;
                Ok(Expr::Not(Box::new(inner)))
            }
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or(Self::deeper(depth)?)?;
                if !matches!(self.peek(), Some(Token::Close)) {
                    return Err(ParseError::new("has a '(' that is not closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Term(term)) => {
                self.at += 1;
                Ok(Expr::Term(term))
            }
            Some(token) => Err(ParseError::new(format!("has an unexpected {token}"))),
            None => Err(ParseError::new("ends where a term was expected")),
        }
    }
}

/// What a search may be sorted by. The counts ArcGIS keeps (ratings,
/// views, comments) are 0 for every item here, so sorting by them keeps
/// the default order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Title,
    Created,
    Modified,
    Owner,
    Type,
    Username,
    FullName,
    Unranked,
}

impl SortField {
    /// A comma-separated list of fields, as `sortField` gives it.
    pub fn parse_list(input: &str) -> Result<Vec<Self>, ParseError> {
        let mut fields: Vec<Self> = Vec::new();
        for field in Self::each(input) {
            let field = field?;
            if !fields.contains(&field) {
                fields.push(field);
            }
            if fields.len() > MAX_SORT_FIELDS {
                return Err(ParseError::new(format!(
                    "names more than {MAX_SORT_FIELDS} fields"
                )));
            }
        }
        Ok(fields)
    }

    /// Each field of the list, parsed.
    fn each(input: &str) -> impl Iterator<Item = Result<Self, ParseError>> + '_ {
        input
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                Ok(match name.to_lowercase().as_str() {
                    "title" => Self::Title,
                    "created" => Self::Created,
                    "modified" => Self::Modified,
                    "owner" => Self::Owner,
                    "type" => Self::Type,
                    "username" => Self::Username,
                    "fullname" => Self::FullName,
                    "avgrating" | "numratings" | "numviews" | "numcomments" => Self::Unranked,
                    _ => {
                        return Err(ParseError::new(format!(
                            "names '{}', which is not one of title, created, modified, owner, type, username, fullname, avgrating, numratings, numviews, numcomments",
                            name.escape_default()
                        )))
                    }
                })
            })
    }
}

/// `sortOrder`: `asc` (the default) or `desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input.trim().to_lowercase().as_str() {
            "" | "asc" | "ascending" => Ok(Self::Asc),
            "desc" | "descending" => Ok(Self::Desc),
            _ => Err(ParseError::new("must be asc or desc")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A document of a title, an owner and tags, matched the way items are.
    fn doc(
        title: &'static str,
        owner: &'static str,
        tags: &'static [&'static str],
    ) -> impl Fn(&Term<ItemField>) -> bool {
        move |t: &Term<ItemField>| match t.field {
            None => t.pattern.text(title) || tags.iter().any(|g| t.pattern.keyword(g)),
            Some(ItemField::Title) => t.pattern.text(title),
            Some(ItemField::Owner) => t.pattern.keyword(owner),
            Some(ItemField::Tags) => tags.iter().any(|g| t.pattern.keyword(g)),
            Some(ItemField::Type) => t.pattern.keyword("Notebook"),
            _ => false,
        }
    }

    fn hits(q: &str, d: &impl Fn(&Term<ItemField>) -> bool) -> bool {
        ItemQuery::parse(q).unwrap().matches(d)
    }

    #[test]
    fn the_syntax_notebooks_use_matches_as_expected() {
        let d = doc("Daily Report", "alice", &["ops", "nightly"]);
        for (q, want) in [
            ("", true),
            ("*", true),
            ("daily", true),
            ("DAILY report", true),
            ("weekly", false),
            ("title:daily", true),
            ("title:\"daily report\"", true),
            ("title:\"report daily\"", false),
            ("title:dai*", true),
            ("title:rep*", true),
            ("title:xyz*", false),
            ("owner:alice", true),
            ("owner:ALICE", true),
            ("owner:ali", false),
            ("owner:al*", true),
            ("tags:ops", true),
            ("tags:op", false),
            ("type:notebook", true),
            ("type:\"Notebook\"", true),
            ("type:\"web map\"", false),
            ("owner:bob OR title:daily", true),
            ("owner:bob AND title:daily", false),
            ("owner:bob title:daily", false),
            ("title:daily NOT owner:bob", true),
            ("title:daily -owner:alice", false),
            ("(owner:bob OR owner:alice) AND tags:nightly", true),
            ("owner:bob OR owner:carol AND title:daily", false),
            (
                "title:daily AND  (type:\"notebook\") accountid:0123456789ABCDEF",
                false,
            ),
        ] {
            assert_eq!(hits(q, &d), want, "{q}");
        }
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        for (q, want) in [
            ("colour:red", "'colour'"),
            ("title:", "no value"),
            ("title:\"open", "not closed"),
            ("(title:a", "not closed"),
            ("title:a)", "unexpected ')'"),
            ("title:a AND", "ends where"),
            ("OR title:a", "unexpected OR"),
            ("title:d*ly", "wildcard"),
        ] {
            let err = ItemQuery::parse(q).unwrap_err();
            assert!(err.0.contains(want), "{q}: {err}");
        }
    }

    #[test]
    fn the_length_and_depth_bounds_hold_at_the_bound() {
        let longest = "a".repeat(MAX_QUERY_CHARS);
        assert!(ItemQuery::parse(&longest).is_ok());
        let over = "a".repeat(MAX_QUERY_CHARS + 1);
        assert!(ItemQuery::parse(&over).unwrap_err().0.contains("longer"));
        let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert!(ItemQuery::parse(&nested(MAX_DEPTH)).is_ok());
        assert!(ItemQuery::parse(&nested(MAX_DEPTH + 1))
            .unwrap_err()
            .0
            .contains("deep"));
        let nots = |n: usize| format!("{}a", "NOT ".repeat(n));
        assert!(ItemQuery::parse(&nots(MAX_DEPTH)).is_ok());
        assert!(ItemQuery::parse(&nots(MAX_DEPTH + 1)).is_err());
        let terms = |n: usize| vec!["-z"; n].join(" ");
        assert!(ItemQuery::parse(&terms(MAX_TERMS)).is_ok());
        assert!(ItemQuery::parse(&terms(MAX_TERMS + 1))
            .unwrap_err()
            .0
            .contains(&format!("{} terms, more than {MAX_TERMS}", MAX_TERMS + 1)));
        // Repeated sort fields count once; more than five are refused.
        let title = vec!["title"; 100_000].join(",");
        assert_eq!(SortField::parse_list(&title).unwrap(), [SortField::Title]);
        let five = "title,created,modified,owner,type";
        assert_eq!(SortField::parse_list(five).unwrap().len(), MAX_SORT_FIELDS);
        assert!(SortField::parse_list(&format!("{five},username"))
            .unwrap_err()
            .0
            .contains("more than 5"));
    }

    #[test]
    fn user_queries_know_user_fields_only() {
        assert!(UserQuery::parse("username:alice accountid:x").is_ok());
        assert!(UserQuery::parse("title:x")
            .unwrap_err()
            .0
            .contains("username"));
    }

    #[test]
    fn sort_fields_and_orders_parse() {
        assert_eq!(
            SortField::parse_list("title, Created").unwrap(),
            vec![SortField::Title, SortField::Created]
        );
        assert_eq!(
            SortField::parse_list("avgRating").unwrap(),
            vec![SortField::Unranked]
        );
        assert!(SortField::parse_list("size").is_err());
        assert_eq!(SortOrder::parse("DESC").unwrap(), SortOrder::Desc);
        assert!(SortOrder::parse("up").is_err());
    }

    proptest! {
        #[test]
        fn no_input_makes_the_parser_panic(q in "\\PC{0,300}") {
            if let Ok(query) = ItemQuery::parse(&q) {
                let _ = query.matches(&doc("t", "o", &["g"]));
            }
            let _ = UserQuery::parse(&q);
        }

        #[test]
        fn no_mix_of_operators_and_parentheses_makes_it_panic(
            q in proptest::collection::vec(
                prop_oneof![
                    Just("("), Just(")"), Just("AND"), Just("OR"), Just("NOT"), Just("-"),
                    Just("\""), Just("title:"), Just("a"), Just("*"), Just(" "), Just("owner:b*"),
                ],
                0..80,
            )
        ) {
            let q = q.concat();
            if let Ok(query) = ItemQuery::parse(&q) {
                let _ = query.matches(&doc("a", "b", &[]));
            }
        }
    }
}
