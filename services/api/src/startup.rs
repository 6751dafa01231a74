//! Builds the application: state, routes, middleware and the HTTP server. `main` and the tests
//! use the same builder; tests bind port 0.

use crate::auth::jwt::JwtKeys;
use crate::auth::password::{HashLimits, PasswordHasher};
use crate::auth::tokens;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db;
use crate::http::allow::RouteMethods;
use crate::http::fallback::{not_found, path_config, query_config};
use crate::http::framework_errors::JsonErrorIo;
use crate::http::middleware::request_context;
use crate::http::seal::Sealer;
use crate::kv::Redis;
use crate::mail::Mailer;
use crate::openapi::{ApiDoc, routes};
use crate::outbox::Outbox;
use crate::ratelimit::RateLimiter;
use crate::realtime::hub::Hub;
use crate::sessions::token::SessionTokens;
use crate::state::AppState;
use crate::tenancy::resolve::TenantResolver;
use actix_http::{HttpService, KeepAlive, Protocol};
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, guard, web};
use anyhow::Context as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt as _;
use utoipa_swagger_ui::SwaggerUi;

impl AppState {
    /// Connects nothing eagerly: the pool and Redis are lazy, so the process starts (and reports
    /// unhealthy) when a dependency is down.
    pub fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let code_key = tokens::hmac_sha256(
            settings.jwt_secret.expose().as_bytes(),
            &["verification-code-key"],
        );
        let redis = Redis::connect(&settings)?;
        Ok(Self {
            db: db::pool(&settings)?,
            rate_limiter: RateLimiter::new(redis.clone()),
            redis,
            tenants: TenantResolver::new(clock.clone()),
            clock,
            mailer: Mailer::from_settings(&settings)?,
            hasher: PasswordHasher::new(HashLimits {
                concurrency: settings.password_hash_concurrency,
                max_wait: settings.password_hash_max_wait,
                per_client: settings.password_hash_per_client,
            })?,
            jwt: Arc::new(JwtKeys::from_settings(&settings)?),
            code_key: code_key.into(),
            cursors: Sealer::new(settings.jwt_secret.expose().as_bytes()),
            session_tokens: SessionTokens::new(settings.jwt_secret.expose().as_bytes()),
            outbox: Outbox::default(),
            hub: Hub::new(redis::Client::open(settings.redis_url.expose())?),
            shutting_down: Arc::new(AtomicBool::new(false)),
            settings: Arc::new(settings),
        })
    }
}

pub struct Application {
    server: Server,
    port: u16,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        if settings.auto_migrate {
            db::migrate(&settings).await.context(
                "could not create or migrate the database (is Postgres running? see DATABASE_URL)",
            )?;
        }
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("could not listen on {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let state = AppState::build(settings, clock)?;
        let served_document = Arc::new(crate::openapi::document());
        let route_methods = web::Data::new(RouteMethods::from_document(&serde_json::to_value(
            served_document.as_ref(),
        )?));

        let app_state = state.clone();
        let local_addr = listener.local_addr()?;
        let make_app = move || {
            let (app, _) = App::new()
                // A literal path that shadows a `{id}` one answers 405 for the methods it does
                // not take, instead of falling through to the `{id}` route (PATCH /api/agents/my
                // would otherwise try to update an agent whose id is "my").
                .service(
                    web::resource(["/api/agents/my", "/api/agents/me/agent"])
                        .guard(guard::Not(guard::Get()))
                        .to(not_found),
                )
                .app_data(web::Data::new(app_state.clone()))
                .app_data(route_methods.clone())
                .app_data(query_config())
                .app_data(path_config())
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .configure(routes)
                .split_for_parts();
            app.route(
                "/ws/agent",
                web::get().to(crate::agents::socket::agent_socket),
            )
            .route(
                "/ws/session",
                web::get().to(crate::sessions::socket::session_socket),
            )
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .url("/api/openapi.json", served_document.as_ref().clone()),
            )
            .route(
                "/docs",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("Location", "/docs/"))
                        .finish()
                }),
            )
            // The root points a newcomer's browser (or curl -L) at the interactive API docs.
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Found()
                        .insert_header(("Location", "/docs/"))
                        .finish()
                }),
            )
            .default_service(web::to(not_found))
            .wrap(from_fn(request_context))
        };
        // actix-web's HttpServer, assembled by hand so each connection's socket can be wrapped
        // (see http::framework_errors); the timeouts are HttpServer's defaults.
        let mut builder = actix_server::Server::build()
            .disable_signals()
            .shutdown_timeout(state.settings.shutdown_grace.as_secs());
        if let Some(workers) = state.settings.workers {
            builder = builder.workers(workers);
        }
        let server = builder.listen("clawrent-http", listener, move || {
            let app = make_app()
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let http = HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(local_addr)
                .finish(map_config(app, |_| AppConfig::default()));
            fn_service(|io: tokio::net::TcpStream| {
                let peer = io.peer_addr().ok();
                let _ = io.set_nodelay(true);
                std::future::ready(Ok((JsonErrorIo::new(io), Protocol::Http1, peer)))
            })
            .and_then(http)
        })?;
        Ok(Self {
            server: server.run(),
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped through its handle (tests drop it).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        spawn_background(&self.state);
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: readiness turns false at once,
    /// listeners close after SHUTDOWN_DELAY_SECONDS, in-flight requests get SHUTDOWN_GRACE_SECONDS.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        spawn_background(&self.state);
        let handle = self.server.handle();
        let state = self.state.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(
                delay_s = state.settings.shutdown_delay.as_secs(),
                "shutdown requested; readiness is now false"
            );
            state.shutting_down.store(true, Ordering::Relaxed);
            tokio::time::sleep(state.settings.shutdown_delay).await;
            handle.stop(true).await;
        });
        self.server.await
    }
}

/// The background work of every replica: the idempotency janitor, the outbox relay and the
/// session sweeper. Each is safe to run on any number of replicas at once.
fn spawn_background(state: &AppState) {
    crate::idempotency::spawn_janitor(state.clone());
    crate::outbox::spawn_relay(state.clone());
    state.hub.start_reader();
    crate::agents::presence_reconcile::spawn(state.clone());
    crate::sessions::sweeper::spawn(state.clone());
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
