//! The pages of retry policies: a receiver's (its own, or the site's it
//! follows) and the site's, each with the form that changes it.

use super::Urls;
use crate::domain::ids::ReceiverId;
use crate::domain::retry::RetryPolicy;
use crate::ui::{FieldKind, Form, Page};

/// The form that changes a policy, filled with its current values.
fn policy_form(action: String, p: &RetryPolicy) -> Form {
    let on: Vec<&str> = p.retry_on().iter().map(|f| f.as_str()).collect();
    Form::post("Change the policy", action)
        .field(
            FieldKind::Text,
            "maxAttempts",
            "Most attempts (1: no retries, up to 10)",
            p.max_attempts().to_string(),
        )
        .field(
            FieldKind::Text,
            "delaySeconds",
            "Wait before the second attempt (seconds)",
            p.delay_seconds().to_string(),
        )
        .field(
            FieldKind::Text,
            "backoffFactor",
            "Each later wait is the one before times (1 to 10)",
            p.backoff_factor().to_string(),
        )
        .field(
            FieldKind::Text,
            "maxDelaySeconds",
            "Longest wait (seconds)",
            p.max_delay_seconds().to_string(),
        )
        .checkboxes(
            "retryOn",
            "Failures that get another attempt",
            &on,
            &["error", "timeout", "lostNode"],
        )
}

/// A receiver's policy; `inherited` when it follows the site's.
pub fn receiver_policy_page(
    urls: &Urls,
    receiver: &ReceiverId,
    name: &str,
    policy: &RetryPolicy,
    inherited: bool,
) -> Page {
    let base = format!("{}/{receiver}", urls.receivers());
    let title = if inherited {
        format!("Retry policy of {name} (the site's)")
    } else {
        format!("Retry policy of {name}")
    };
    let mut page = Page::new(title)
        .link("The receiver", base.clone())
        .link(
            "The site's policy",
            format!("{}/retryPolicy", urls.notebooks()),
        )
        .form(policy_form(format!("{base}/retryPolicy/update"), policy));
    if !inherited {
        page = page.form(
            Form::post(
                "Follow the site's policy",
                format!("{base}/retryPolicy/update"),
            )
            .field(FieldKind::Hidden, "inherit", "", "true"),
        );
    }
    page
}

/// The site's policy; the form only for administrators.
pub fn site_policy_page(urls: &Urls, policy: &RetryPolicy, may_change: bool) -> Page {
    let base = format!("{}/retryPolicy", urls.notebooks());
    let page = Page::new("The site's retry policy").link("Webhook receivers", urls.receivers());
    if may_change {
        page.form(policy_form(format!("{base}/update"), policy))
    } else {
        page
    }
}
