//! Receivers and destinations of notices on their way to and from the
//! database: their secrets sealed by the vault, each bound to its owner
//! and field, and opened again.

use crate::Reading;
use hookbook_core::domain::ids::ReceiverId;
use hookbook_core::domain::notice::{Destination, EmailAddress};
use hookbook_core::domain::outbound::NoticeUrl;
use hookbook_core::domain::receiver::{
    Parameters, Receiver, ReceiverName, Secret, SignatureHeaders,
};
use hookbook_core::domain::sensitive::Sensitive;
use hookbook_core::domain::user::Username;
use hookbook_core::security::vault::Vault;

use super::{DestinationRecord, ReceiverRecord, StoreError, StoreResult};

/// What a sealed field of a receiver is bound to: opening it as another
/// receiver's, or as another field, fails.
pub fn sealed_context(id: &ReceiverId, field: &str) -> String {
    format!("receiver:{id}:{field}")
}

/// The receiver as it is stored, its secrets sealed.
pub fn seal_receiver(vault: &Vault, r: &Receiver) -> ReceiverRecord {
    let seal = |text: &str, field: &str| vault.seal(text.as_bytes(), &sealed_context(&r.id, field));
    ReceiverRecord {
        id: r.id,
        name: r.name.as_str().to_string(),
        item_id: r.item_id.clone(),
        owner: r.owner.clone(),
        signature_headers: r.signature_headers.joined(),
        disabled: r.disabled,
        secret: seal(r.secret.expose(), "secret"),
        previous_secret: r
            .previous_secret
            .as_ref()
            .map(|(s, until)| (seal(s.expose(), "previous_secret"), *until)),
        api_token: r.api_token.as_ref().map(|t| seal(t.expose(), "api_token")),
        parameters: r.parameters.to_json(),
        message: r.message.clone(),
        created: r.created,
        modified: r.modified,
    }
}

/// A stored receiver with its secrets opened.
pub fn open_receiver(vault: &Vault, r: ReceiverRecord) -> StoreResult<Receiver> {
    let key = r.id.to_string();
    let row = Reading::of("receivers", &key);
    let open_text = |sealed: &[u8], field: &'static str| -> StoreResult<String> {
        let bytes = vault
            .open(sealed, &sealed_context(&r.id, field))
            .map_err(|_| StoreError::Sealed("webhook receiver"))?;
        row.column(field, String::from_utf8(bytes))
    };
    let secret = row.column("secret", Secret::parse(&open_text(&r.secret, "secret")?))?;
    let previous_secret = match &r.previous_secret {
        Some((sealed, until)) => Some((
            row.column(
                "previous_secret",
                Secret::parse(&open_text(sealed, "previous_secret")?),
            )?,
            *until,
        )),
        None => None,
    };
    let api_token = match &r.api_token {
        Some(sealed) => Some(Sensitive::new(open_text(sealed, "api_token")?)),
        None => None,
    };
    Ok(Receiver {
        id: r.id,
        name: row.column("name", ReceiverName::parse(&r.name))?,
        item_id: r.item_id,
        owner: r.owner,
        signature_headers: row.column(
            "signature_headers",
            SignatureHeaders::parse(&r.signature_headers),
        )?,
        disabled: r.disabled,
        secret,
        previous_secret,
        api_token,
        parameters: row.column("parameters", Parameters::parse(&r.parameters))?,
        message: r.message,
        created: r.created,
        modified: r.modified,
    })
}

/// What a destination's secret is bound to.
fn destination_context(username: &Username) -> String {
    format!("notice-destination:{}:secret", username.as_str())
}

/// A destination of notices as it is stored, its secret sealed.
pub fn seal_destination(vault: &Vault, d: &Destination) -> DestinationRecord {
    DestinationRecord {
        username: d.username.clone(),
        url: d.url.as_ref().map(|u| u.as_str().to_string()),
        secret: vault.seal(
            d.secret.expose().as_bytes(),
            &destination_context(&d.username),
        ),
        email: d.email.as_ref().map(|e| e.as_str().to_string()),
        modified: d.modified,
    }
}

/// A stored destination with its secret opened and its fields parsed.
pub fn open_destination(vault: &Vault, r: DestinationRecord) -> StoreResult<Destination> {
    let key = r.username.to_string();
    let row = Reading::of("notice_destinations", &key);
    let secret = vault
        .open(&r.secret, &destination_context(&r.username))
        .map_err(|_| StoreError::Sealed("notice destination"))?;
    let secret = row.column("secret", String::from_utf8(secret))?;
    Ok(Destination {
        secret: row.column("secret", Secret::parse(&secret))?,
        url: row.column("url", r.url.as_deref().map(NoticeUrl::parse).transpose())?,
        email: row.column(
            "email",
            r.email.as_deref().map(EmailAddress::parse).transpose(),
        )?,
        username: r.username,
        modified: r.modified,
    })
}
