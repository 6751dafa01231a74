//! Outgoing mail through lettre: SMTP when `SMTP_URL` is set, else `.eml` files in
//! `MAIL_OUTBOX_DIR` (and the log) so a local user can read verification codes without a server.

use crate::config::Settings;
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
}

pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Checks `SMTP_URL` the way lettre will read it; the error never repeats the URL (it may hold a password).
impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let from: Mailbox = settings.mail_from.parse()?;
        Ok(match &settings.smtp_url {
            Some(url) => Mailer::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
                from,
            },
            None => Mailer::Outbox {
                dir: settings.mail_outbox_dir.clone(),
                from,
            },
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "smtp".to_owned(),
            Mailer::Outbox { dir, .. } => format!("outbox directory {}", dir.display()),
        }
    }

    #[tracing::instrument(name = "mail.send", skip_all, fields(mail.transport))]
    pub async fn send(&self, mail: OutgoingMail) -> anyhow::Result<()> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let message = Message::builder()
            .from(from)
            .to(mail.to.parse()?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        match self {
            Mailer::Smtp { transport, .. } => {
                tracing::Span::current().record("mail.transport", "smtp");
                transport.send(message).await?;
            }
            Mailer::Outbox { dir, .. } => {
                tracing::Span::current().record("mail.transport", "outbox");
                tokio::fs::create_dir_all(dir).await?;
                let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
                tokio::fs::write(&path, message.formatted()).await?;
                // Local development only: the outbox exists so the code can be read without SMTP.
                tracing::info!(mail.path = %path.display(), mail.subject = %mail.subject, mail.body = %mail.body, "mail written to outbox");
            }
        }
        Ok(())
    }
}
