use crate::helpers::*;
use serde_json::{Value, json};

const AGENTS: &str = "/api/agents";

fn agent_path(id: &str) -> String {
    format!("{AGENTS}/{id}")
}

fn action_path(id: &str, action: &str) -> String {
    format!("{AGENTS}/{id}/{action}")
}

/// A valid registration body for `slug`.
fn agent_body(slug: &str) -> Value {
    json!({
        "name": "Rust reviewer",
        "slug": slug,
        "description": "Reviews Rust code for correctness and style",
        "capabilities": [{
            "category": "Coding",
            "name": "Rust review",
            "description": "reads diffs",
            "tags": ["rust", "review"],
        }],
        "requiredPermissions": ["system.exec"],
    })
}

/// `base` with `key` set to `value`.
fn with_field(base: &Value, key: &str, value: Value) -> Value {
    let mut body = base.clone();
    body[key] = value;
    body
}

/// The terms the CLI's `provider agent apply-provider` always sends.
fn cli_terms() -> Value {
    json!({
        "pricingModel": "per_session",
        "priceAmount": "1.00",
        "currency": "CNY",
        "hostingType": "self_hosted",
        "approvalMode": "manual",
        "maxConcurrentSessions": 5,
        "maxConsumerSlots": 1,
    })
}

async fn agent_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM agents").await
}

async fn profile_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM provider_profiles").await
}

async fn audit_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM admin_audit").await
}

/// The agent as its owner sees it.
async fn view(app: &TestApp, owner: &TestUser, id: &str) -> Value {
    app.get(&agent_path(id), &owner.auth())
        .await
        .expect(200)
        .body
}

/// The profile status stored for the agent (None for a draft).
async fn stored_status(app: &TestApp, id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status::text FROM provider_profiles WHERE agent_id = $1::uuid")
        .bind(id)
        .fetch_optional(&app.db)
        .await
        .expect("profile query")
}

async fn stored_online_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT online_status::text FROM agents WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("agent row")
}

/// Asserts a 400 VALIDATION_ERROR whose `details.field` is `field` and whose message names it.
fn assert_field_error(reply: &Reply, why: &str, field: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
    assert_eq!(
        reply.body["error"], "VALIDATION_ERROR",
        "{why}: {}",
        reply.text
    );
    assert_eq!(
        reply.body["details"]["field"], field,
        "{why}: {}",
        reply.text
    );
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(field),
        "{why}: the message names {field}: {message}"
    );
}

/// Asserts 409 CONFLICT with the current status quoted in the message.
fn assert_conflict_naming(reply: &Reply, why: &str, status: &str) {
    assert_eq!(reply.status.as_u16(), 409, "{why}: {}", reply.text);
    assert_eq!(reply.body["error"], "CONFLICT", "{why}: {}", reply.text);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("'{status}'")),
        "{why}: the message names the status '{status}': {message}"
    );
}

/// The slugs on the first browse page (up to 100) with the extra `query` (`&k=v...`).
async fn browse_slugs(app: &TestApp, auth: &Auth, query: &str) -> Vec<String> {
    let page = app
        .get(&format!("/api/marketplace/browse?limit=100{query}"), auth)
        .await
        .expect(200)
        .body;
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|a| a["slug"].as_str().expect("slug").to_owned())
        .collect()
}

async fn audit(app: &TestApp, admin: &TestUser, query: &str) -> Value {
    app.get(&format!("/api/admin/audit?limit=100{query}"), &admin.auth())
        .await
        .expect(200)
        .body
}

fn strings(page: &Value, key: &str) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| item[key].as_str().expect("string field").to_owned())
        .collect()
}

fn assert_timestamp(value: &Value, what: &str) {
    let text = value.as_str().unwrap_or_default();
    assert!(
        text.len() == 24 && text.ends_with('Z'),
        "{what} is an ISO timestamp with milliseconds: {value}"
    );
}

// ---------------------------------------------------------------------------------------------
// Registering agents
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_an_agent_returns_201_with_a_consumer_draft_without_a_token() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let slug = unique_slug("draft");

    // Act
    let reply = app.post(AGENTS, &owner.auth(), &agent_body(&slug)).await;

    // Assert
    let body = reply.expect(201).body;
    let id = body["id"].as_str().expect("id");
    uuid::Uuid::parse_str(id).expect("id is a UUID");
    assert_eq!(body["agentId"], id);
    assert_eq!(body["ownerId"], owner.id.as_str());
    assert_eq!(body["status"], "draft");
    assert_eq!(body["roles"], "consumer");
    assert_eq!(body["onlineStatus"], "offline");
    assert_eq!(body["hasAgentToken"], false);
    assert_eq!(body["serveHosting"], "self");
    assert_eq!(body["name"], "Rust reviewer");
    assert_eq!(body["slug"], slug.as_str());
    assert_eq!(
        body["capabilities"][0]["category"], "coding",
        "categories are lower-cased"
    );
    assert_eq!(body["capabilities"][0]["tags"], json!(["rust", "review"]));
    assert_eq!(body["requiredPermissions"], json!(["system.exec"]));
    assert!(
        body.get("providerProfile").is_none(),
        "a draft has no profile: {body}"
    );
    assert!(body.get("agentTokenPrefix").is_none(), "{body}");
    assert_timestamp(&body["createdAt"], "createdAt");
    let stored: (String, String, String) =
        sqlx::query_as("SELECT owner_id::text, slug, roles::text FROM agents WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("the agent row exists");
    assert_eq!(stored, (owner.id.clone(), slug, "consumer".to_owned()));
    assert_eq!(profile_count(&app).await, 0);
}

#[tokio::test]
async fn fields_old_clients_send_when_creating_an_agent_are_ignored() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mut body = agent_body(&unique_slug("legacy"));
    for (key, value) in [
        ("pricingModel", json!("per_session")),
        ("priceAmount", json!("5.00")),
        ("currency", json!("USD")),
        ("approvalMode", json!("auto")),
        ("hostingType", json!("platform_hosted")),
        ("transparencyLevel", json!("transparent")),
        ("maxConcurrentSessions", json!(3)),
    ] {
        body[key] = value;
    }

    // Act
    let reply = app.post(AGENTS, &owner.auth(), &body).await;

    // Assert
    let created = reply.expect(201).body;
    assert_eq!(created["status"], "draft");
    assert!(created.get("providerProfile").is_none(), "{created}");
    assert!(created.get("pricingModel").is_none(), "{created}");
    assert_eq!(created["serveHosting"], "self");
    assert_eq!(agent_count(&app).await, 1);
    assert_eq!(profile_count(&app).await, 0, "no profile was created");
}

#[tokio::test]
async fn boundary_lengths_of_agent_fields_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tags: Vec<String> = (0..20).map(|i| format!("tag{i}")).collect();
    let many: Vec<Value> = (0..50)
        .map(|i| json!({ "category": "c", "name": format!("cap {i}") }))
        .collect();
    let cases: Vec<(&str, Value)> = vec![
        ("100-character name", json!({ "name": "n".repeat(100) })),
        (
            "100 non-ASCII characters",
            json!({ "name": "é".repeat(100) }),
        ),
        ("3-character slug", json!({ "slug": "a1b" })),
        ("50-character slug", json!({ "slug": "s".repeat(50) })),
        (
            "10-character description",
            json!({ "description": "d".repeat(10) }),
        ),
        (
            "500-character description",
            json!({ "description": "d".repeat(500) }),
        ),
        (
            "5000-character longDescription",
            json!({ "longDescription": "l".repeat(5000) }),
        ),
        ("50 capabilities", json!({ "capabilities": many })),
        (
            "20 tags",
            json!({ "capabilities": [{ "category": "c", "name": "n", "tags": tags }] }),
        ),
        (
            "permission ids",
            json!({ "requiredPermissions": ["system.exec", "fs:read", "net.*", "a_b-c"] }),
        ),
    ];

    for (i, (why, extra)) in cases.into_iter().enumerate() {
        let mut body = agent_body(&format!("boundary-{i}"));
        for (key, value) in extra.as_object().expect("object") {
            body[key.as_str()] = value.clone();
        }

        // Act
        let reply = app.post(AGENTS, &owner.auth(), &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 201, "{why}: {}", reply.text);
    }
    assert_eq!(agent_count(&app).await, 10);
}

#[tokio::test]
async fn invalid_agent_fields_are_400_naming_the_field_and_create_nothing() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let base = agent_body("valid-slug");
    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({ "category": "c", "name": format!("cap {i}") }))
        .collect();
    let too_many_tags: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    let too_many_permissions: Vec<String> = (0..51).map(|i| format!("perm.{i}")).collect();
    let cases: Vec<(&str, &str, Value)> = vec![
        ("empty name", "name", json!("")),
        ("blank name", "name", json!("   ")),
        ("101-character name", "name", json!("n".repeat(101))),
        ("2-character slug", "slug", json!("ab")),
        ("51-character slug", "slug", json!("s".repeat(51))),
        ("uppercase slug", "slug", json!("My-Agent")),
        ("underscore in slug", "slug", json!("my_agent")),
        ("leading hyphen", "slug", json!("-agent")),
        ("trailing hyphen", "slug", json!("agent-")),
        (
            "9-character description",
            "description",
            json!("d".repeat(9)),
        ),
        (
            "501-character description",
            "description",
            json!("d".repeat(501)),
        ),
        (
            "5001-character longDescription",
            "longDescription",
            json!("l".repeat(5001)),
        ),
        (
            "empty capability category",
            "capabilities[0].category",
            json!([{ "category": "", "name": "x" }]),
        ),
        ("51 capabilities", "capabilities", json!(too_many)),
        (
            "21 tags",
            "capabilities[0].tags",
            json!([{ "category": "c", "name": "n", "tags": too_many_tags }]),
        ),
        (
            "permission with spaces",
            "requiredPermissions",
            json!(["rm -rf"]),
        ),
        ("newline in name", "name", json!("two\nlines")),
        ("control character in slug", "slug", json!("ab\u{0007}c")),
        (
            "empty capability name",
            "capabilities[0].name",
            json!([{ "category": "c", "name": "" }]),
        ),
        (
            "empty tag",
            "capabilities[0].tags",
            json!([{ "category": "c", "name": "n", "tags": [""] }]),
        ),
        (
            "error in the second capability",
            "capabilities[1].category",
            json!([{ "category": "c", "name": "n" }, { "category": "  ", "name": "n" }]),
        ),
        (
            "51 permissions",
            "requiredPermissions",
            json!(too_many_permissions),
        ),
        (
            "101-character permission",
            "requiredPermissions",
            json!(["p".repeat(101)]),
        ),
        ("name as a number", "name", json!(5)),
    ];

    for (why, field, value) in cases {
        let key = field.split('[').next().expect("key");
        let body = with_field(&base, key, value);

        // Act
        let reply = app.post(AGENTS, &owner.auth(), &body).await;

        // Assert
        assert_field_error(&reply, why, field);
        assert_eq!(agent_count(&app).await, 0, "{why}: nothing is created");
    }
}

#[tokio::test]
async fn a_slug_taken_in_the_tenant_is_409_but_free_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let first = app.signup().await;
    let second = app.signup().await;
    let tenant = app.create_tenant("elsewhere").await;
    let foreign = app.signup_in(Some(&tenant)).await;
    let slug = unique_slug("taken");
    app.post(AGENTS, &first.auth(), &agent_body(&slug))
        .await
        .expect(201);

    // Act
    let same_tenant = app.post(AGENTS, &second.auth(), &agent_body(&slug)).await;
    let same_owner = app.post(AGENTS, &first.auth(), &agent_body(&slug)).await;
    let other_tenant = app.post(AGENTS, &foreign.auth(), &agent_body(&slug)).await;

    // Assert
    let conflict = same_tenant.expect_error(409, "CONFLICT");
    assert_eq!(
        conflict.body["details"]["field"], "slug",
        "{}",
        conflict.text
    );
    same_owner.expect_error(409, "CONFLICT");
    let created = other_tenant.expect(201).body;
    assert_eq!(created["slug"], slug.as_str());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM agents WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows, 2, "one agent per tenant");
}

// ---------------------------------------------------------------------------------------------
// Reading and editing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn my_agents_lists_only_the_callers_agents_newest_first_with_paging_and_roles() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let stranger = app.signup().await;
    let admin = app.default_admin().await;
    let mut mine = Vec::new();
    for i in 0..3 {
        mine.push(
            app.create_agent(&owner, &format!("mine-{i}"), json!({}))
                .await,
        );
    }
    let theirs = app.create_agent(&stranger, "theirs", json!({})).await;
    app.publish(&owner, &mine[0], json!({})).await.expect(200);
    app.review(&admin, &mine[0], "approve", None)
        .await
        .expect(200);

    // Act
    let all = app
        .get("/api/agents/my", &owner.auth())
        .await
        .expect(200)
        .body;
    let first = app
        .get("/api/agents/my?page=1&limit=2", &owner.auth())
        .await
        .expect(200)
        .body;
    let second = app
        .get("/api/agents/my?page=2&limit=2", &owner.auth())
        .await
        .expect(200)
        .body;
    let consumers = app
        .get("/api/agents/my?roles=consumer", &owner.auth())
        .await
        .expect(200)
        .body;
    let both = app
        .get("/api/agents/my?roles=both", &owner.auth())
        .await
        .expect(200)
        .body;
    let stranger_page = app
        .get("/api/agents/my", &stranger.auth())
        .await
        .expect(200)
        .body;

    // Assert
    let newest_first: Vec<String> = mine.iter().rev().cloned().collect();
    assert_eq!(strings(&all, "id"), newest_first);
    assert_eq!(all["total"], 3);
    assert_eq!(all["page"], 1);
    assert_eq!(all["limit"], 20);
    assert_eq!(strings(&first, "id"), newest_first[..2].to_vec());
    assert_eq!(first["total"], 3);
    assert_eq!(strings(&second, "id"), newest_first[2..].to_vec());
    assert_eq!(strings(&consumers, "id"), newest_first[..2].to_vec());
    assert_eq!(consumers["total"], 2);
    assert_eq!(strings(&both, "id"), vec![mine[0].clone()]);
    assert_eq!(both["data"][0]["status"], "active");
    assert_eq!(strings(&stranger_page, "id"), vec![theirs]);
    assert_eq!(stranger_page["total"], 1);
}

#[tokio::test]
async fn invalid_my_agents_queries_are_400() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let cases = [
        ("unknown role", "roles=provider", "roles"),
        ("uppercase role", "roles=BOTH", "roles"),
        ("empty role", "roles=", "roles"),
        ("page 0", "page=0", "page"),
        ("page not a number", "page=abc", "page"),
        ("limit 0", "limit=0", "limit"),
        ("limit 101", "limit=101", "limit"),
    ];
    for (why, query, field) in cases {
        let reply = app
            .get(&format!("/api/agents/my?{query}"), &owner.auth())
            .await;
        assert_field_error(&reply, why, field);
    }
}

#[tokio::test]
async fn the_owner_reads_an_agent_by_id_and_unknown_ids_are_404() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app
        .create_agent(
            &owner,
            "readable",
            json!({ "longDescription": "All the details." }),
        )
        .await;

    // Act
    let found = app.get(&agent_path(&id), &owner.auth()).await;
    let unknown = app
        .get(
            &agent_path(&uuid::Uuid::now_v7().to_string()),
            &owner.auth(),
        )
        .await;
    let malformed = app.get(&agent_path("not-a-uuid"), &owner.auth()).await;

    // Assert
    let body = found.expect(200).body;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["slug"], "readable");
    assert_eq!(body["longDescription"], "All the details.");
    assert_eq!(body["status"], "draft");
    unknown.expect_error(404, "NOT_FOUND");
    malformed.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_draft_agent_can_be_edited_and_null_clears_the_long_description() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app
        .create_agent(
            &owner,
            "editable",
            json!({ "longDescription": "Old details." }),
        )
        .await;
    let capabilities =
        json!([{ "category": "writing", "name": "Docs", "description": "", "tags": [] }]);

    // Act
    let edited = app
        .patch(
            &agent_path(&id),
            &owner.auth(),
            &json!({
                "name": "  New name  ",
                "description": "A brand new description",
                "longDescription": "New details.",
                "capabilities": capabilities,
            }),
        )
        .await;
    let partial = app
        .patch(
            &agent_path(&id),
            &owner.auth(),
            &json!({ "name": "Only the name" }),
        )
        .await;
    let cleared = app
        .patch(
            &agent_path(&id),
            &owner.auth(),
            &json!({ "longDescription": null }),
        )
        .await;

    // Assert
    let edited = edited.expect(200).body;
    assert_eq!(edited["name"], "New name", "trimmed");
    assert_eq!(edited["description"], "A brand new description");
    assert_eq!(edited["longDescription"], "New details.");
    assert_eq!(edited["capabilities"], capabilities);
    assert_eq!(edited["slug"], "editable", "the slug is not editable");
    let partial = partial.expect(200).body;
    assert_eq!(partial["name"], "Only the name");
    assert_eq!(
        partial["description"], "A brand new description",
        "absent fields are kept"
    );
    assert_eq!(
        partial["longDescription"], "New details.",
        "absent fields are kept"
    );
    let cleared = cleared.expect(200).body;
    assert!(cleared.get("longDescription").is_none(), "{cleared}");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT long_description FROM agents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(stored, None);
    let read_back = view(&app, &owner, &id).await;
    assert_eq!(read_back["name"], "Only the name");
    assert_eq!(read_back["capabilities"], capabilities);
}

#[tokio::test]
async fn invalid_edits_are_400_and_change_nothing() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "unchanged", json!({})).await;
    let before = view(&app, &owner, &id).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("empty name", "name", json!({ "name": "" })),
        (
            "101-character name",
            "name",
            json!({ "name": "n".repeat(101) }),
        ),
        (
            "short description",
            "description",
            json!({ "description": "too short" }),
        ),
        (
            "long longDescription",
            "longDescription",
            json!({ "longDescription": "l".repeat(5001) }),
        ),
        (
            "empty category",
            "capabilities[0].category",
            json!({ "capabilities": [{ "category": " ", "name": "x" }] }),
        ),
        (
            "bad permission",
            "requiredPermissions",
            json!({ "requiredPermissions": ["a b"] }),
        ),
        (
            "valid name with an invalid description",
            "description",
            json!({ "name": "Fine", "description": "short" }),
        ),
    ];
    for (why, field, body) in cases {
        // Act
        let reply = app.patch(&agent_path(&id), &owner.auth(), &body).await;

        // Assert
        assert_field_error(&reply, why, field);
        assert_eq!(
            view(&app, &owner, &id).await,
            before,
            "{why}: nothing changed"
        );
    }
}

#[tokio::test]
async fn an_agent_can_be_edited_after_rejection_but_not_while_pending_active_or_suspended() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "locked", json!({})).await;
    let rename = json!({ "name": "Renamed" });

    // Act and assert: each locked status refuses the edit and names itself.
    app.publish(&owner, &id, json!({})).await.expect(200);
    let pending = app.patch(&agent_path(&id), &owner.auth(), &rename).await;
    assert_conflict_naming(&pending, "pending", "pending_review");
    app.review(&admin, &id, "approve", None).await.expect(200);
    let active = app.patch(&agent_path(&id), &owner.auth(), &rename).await;
    assert_conflict_naming(&active, "active", "active");
    app.review(&admin, &id, "suspend", Some("abuse"))
        .await
        .expect(200);
    let suspended = app.patch(&agent_path(&id), &owner.auth(), &rename).await;
    assert_conflict_naming(&suspended, "suspended", "suspended");
    assert_eq!(
        view(&app, &owner, &id).await["name"],
        "Agent locked",
        "never renamed"
    );

    // A rejected agent is editable again.
    let other = app.create_agent(&owner, "rejected", json!({})).await;
    app.publish(&owner, &other, json!({})).await.expect(200);
    app.review(&admin, &other, "reject", Some("needs a better name"))
        .await
        .expect(200);
    let edited = app.patch(&agent_path(&other), &owner.auth(), &rename).await;
    let edited = edited.expect(200).body;
    assert_eq!(edited["name"], "Renamed");
    assert_eq!(edited["status"], "rejected");
}

// ---------------------------------------------------------------------------------------------
// Publishing (provider profile)
// ---------------------------------------------------------------------------------------------

fn assert_default_terms(profile: &Value, why: &str) {
    let expected = [
        ("pricingModel", json!("per_session")),
        ("priceAmount", json!("1.00")),
        ("currency", json!("CNY")),
        ("hostingType", json!("self_hosted")),
        ("approvalMode", json!("manual")),
        ("transparencyLevel", json!("moderate")),
        ("maxConcurrentSessions", json!(5)),
        ("maxConsumerSlots", json!(1)),
    ];
    for (key, value) in expected {
        assert_eq!(profile[key], value, "{why}: {key} in {profile}");
    }
}

#[tokio::test]
async fn publishing_without_a_body_or_content_type_submits_the_default_terms() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "no-body", json!({})).await;
    let second = app.create_agent(&owner, "empty-object", json!({})).await;

    // Act
    let bodyless = app
        .post_empty(&action_path(&id, "publish"), &owner.auth())
        .await;
    let empty_object = app.publish(&owner, &second, json!({})).await;

    // Assert
    let body = bodyless.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    assert_eq!(body["roles"], "consumer", "not a provider until approved");
    let profile = &body["providerProfile"];
    assert_eq!(profile["status"], "pending_review");
    assert_eq!(profile["agentId"], id.as_str());
    assert_default_terms(profile, "no body");
    let body = empty_object.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    assert_default_terms(&body["providerProfile"], "empty object");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
    assert!(
        !browse_slugs(&app, &owner.auth(), "")
            .await
            .contains(&"no-body".to_owned()),
        "a pending agent is not in the marketplace"
    );
}

#[tokio::test]
async fn applying_as_provider_with_the_cli_body_returns_the_full_profile() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "cli-apply", json!({})).await;

    // Act
    let reply = app
        .post(
            &action_path(&id, "apply-provider"),
            &owner.auth(),
            &cli_terms(),
        )
        .await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    let profile = &body["providerProfile"];
    assert_default_terms(profile, "CLI body");
    assert_eq!(profile["id"], id.as_str());
    assert_eq!(profile["agentId"], id.as_str());
    assert_eq!(profile["status"], "pending_review");
    assert_eq!(profile["slotAssignmentMode"], "auto");
    assert_eq!(profile["allowSharedConsumer"], false);
    assert_eq!(profile["verificationLevel"], "unverified");
    assert_eq!(profile["totalSessions"], 0);
    assert_eq!(profile["ratingCount"], 0);
    assert_eq!(profile["avgRating"], "0.00");
    assert_eq!(profile["completionRate"], "0.0000");
    for key in ["submittedAt", "createdAt", "updatedAt"] {
        assert_timestamp(&profile[key], key);
    }
    for absent in ["reviewReason", "reviewedAt", "endpoint", "healthCheckUrl"] {
        assert!(profile.get(absent).is_none(), "{absent} in {profile}");
    }
    assert_eq!(view(&app, &owner, &id).await["providerProfile"], *profile);
}

#[tokio::test]
async fn publishing_accepts_every_documented_term() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "custom-terms", json!({})).await;
    let terms = json!({
        "pricingModel": "per_minute",
        "priceAmount": "0.0125",
        "currency": "USD",
        "hostingType": "platform_hosted",
        "approvalMode": "auto",
        "transparencyLevel": "transparent",
        "maxConcurrentSessions": 1000,
        "maxConsumerSlots": 100,
        "slotAssignmentMode": "manual",
        "allowSharedConsumer": true,
        "endpoint": "https://agent.example.com/v1",
        "healthCheckUrl": "http://agent.example.com:8080/health",
    });

    // Act
    let reply = app.publish(&owner, &id, terms.clone()).await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["serveHosting"], "platform");
    let profile = &body["providerProfile"];
    for (key, value) in terms.as_object().expect("object") {
        assert_eq!(&profile[key.as_str()], value, "{key} in {profile}");
    }
}

#[tokio::test]
async fn invalid_provider_terms_are_400_and_leave_the_profile_unchanged() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let published = app.create_agent(&owner, "published", json!({})).await;
    app.publish(&owner, &published, json!({ "priceAmount": "2.50" }))
        .await
        .expect(200);
    let draft = app.create_agent(&owner, "still-draft", json!({})).await;
    let before = view(&app, &owner, &published).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("price as a JSON number", "priceAmount", json!(1.5)),
        ("negative price", "priceAmount", json!("-1")),
        ("five decimals", "priceAmount", json!("1.23456")),
        ("not a number", "priceAmount", json!("abc")),
        ("NaN", "priceAmount", json!("NaN")),
        ("empty price", "priceAmount", json!("")),
        (
            "currency not accepted by the tenant",
            "currency",
            json!("EUR"),
        ),
        ("unknown pricing model", "pricingModel", json!("hourly")),
        ("0 concurrent sessions", "maxConcurrentSessions", json!(0)),
        (
            "1001 concurrent sessions",
            "maxConcurrentSessions",
            json!(1001),
        ),
        ("ftp endpoint", "endpoint", json!("ftp://x")),
        ("endpoint not a URL", "endpoint", json!("not a url")),
        (
            "javascript health check",
            "healthCheckUrl",
            json!("javascript:alert(1)"),
        ),
        (
            "price above one million",
            "priceAmount",
            json!("1000000.01"),
        ),
        ("exponent price", "priceAmount", json!("1e3")),
        (
            "uppercase pricing model",
            "pricingModel",
            json!("PER_SESSION"),
        ),
        ("lowercase currency", "currency", json!("cny")),
        ("unknown hosting type", "hostingType", json!("cloud")),
        (
            "shared-types approval mode",
            "approvalMode",
            json!("auto_rules"),
        ),
        (
            "unknown transparency level",
            "transparencyLevel",
            json!("full"),
        ),
        ("sessions as a string", "maxConcurrentSessions", json!("5")),
        ("fractional sessions", "maxConcurrentSessions", json!(2.5)),
        ("0 consumer slots", "maxConsumerSlots", json!(0)),
        ("101 consumer slots", "maxConsumerSlots", json!(101)),
        (
            "unknown slot assignment mode",
            "slotAssignmentMode",
            json!("random"),
        ),
    ];
    for (why, field, value) in cases {
        let terms = json!({ field: value });
        for action in ["publish", "apply-provider"] {
            // Act
            let resubmit = app
                .post(&action_path(&published, action), &owner.auth(), &terms)
                .await;
            let first = app
                .post(&action_path(&draft, action), &owner.auth(), &terms)
                .await;

            // Assert
            assert_field_error(&resubmit, &format!("{why} ({action}, resubmission)"), field);
            assert_field_error(
                &first,
                &format!("{why} ({action}, first submission)"),
                field,
            );
            assert_eq!(
                view(&app, &owner, &published).await,
                before,
                "{why} ({action}): the profile is unchanged"
            );
            assert_eq!(
                stored_status(&app, &draft).await,
                None,
                "{why} ({action}): no profile is created"
            );
        }
    }
}

#[tokio::test]
async fn resubmitting_while_pending_stays_pending_and_keeps_terms_not_sent() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "resubmit", json!({})).await;
    app.publish(
        &owner,
        &id,
        json!({ "pricingModel": "per_minute", "priceAmount": "2.50", "currency": "USD", "endpoint": "https://a.example.com" }),
    )
    .await
    .expect(200);

    // Act
    let reply = app
        .publish(&owner, &id, json!({ "priceAmount": "3.00" }))
        .await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    let profile = &body["providerProfile"];
    assert_eq!(profile["priceAmount"], "3.00", "the sent term changed");
    assert_eq!(profile["pricingModel"], "per_minute", "kept");
    assert_eq!(profile["currency"], "USD", "kept");
    assert_eq!(profile["endpoint"], "https://a.example.com", "kept");
    assert_eq!(profile["maxConcurrentSessions"], 5, "kept (default)");
    assert_eq!(view(&app, &owner, &id).await["providerProfile"], *profile);
    assert_eq!(profile_count(&app).await, 1, "still one profile");
}

// ---------------------------------------------------------------------------------------------
// Admin review
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn approving_lists_the_agent_and_makes_its_owner_a_provider() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "approved", json!({})).await;
    app.publish(&owner, &id, json!({ "priceAmount": "4.00" }))
        .await
        .expect(200);
    let role_before = app.me(&owner.auth()).await.expect(200).body["role"].clone();

    // Act
    let reply = app.review(&admin, &id, "approve", None).await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "active");
    assert_eq!(body["roles"], "both");
    assert_eq!(body["providerProfile"]["status"], "active");
    assert_timestamp(&body["providerProfile"]["reviewedAt"], "reviewedAt");
    let owned = view(&app, &owner, &id).await;
    assert_eq!(owned["roles"], "both");
    assert_eq!(owned["status"], "active");
    assert_eq!(role_before, "consumer");
    assert_eq!(app.me(&owner.auth()).await.expect(200).body["role"], "both");
    let listed = browse_slugs(&app, &owner.auth(), "").await;
    assert_eq!(listed, vec!["approved".to_owned()]);
    let detail = app
        .get("/api/marketplace/agents/approved", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(detail["id"], id.as_str());
    assert_eq!(detail["priceAmount"], "4.00");
    assert_eq!(detail["online"], false);
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_the_owner_can_resubmit() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "rejectable", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);
    let reject = format!("/api/admin/providers/{id}/reject");

    // Act and assert: a missing or blank reason is refused and nothing changes.
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("no body", None),
        ("empty object", Some(json!({}))),
        ("null reason", Some(json!({ "reason": null }))),
        ("blank reason", Some(json!({ "reason": "   " }))),
    ];
    for (why, body) in cases {
        let reply = match &body {
            Some(body) => app.post(&reject, &admin.auth(), body).await,
            None => app.post_empty(&reject, &admin.auth()).await,
        };
        assert_field_error(&reply, why, "reason");
        assert_eq!(
            stored_status(&app, &id).await.as_deref(),
            Some("pending_review"),
            "{why}"
        );
    }
    assert_eq!(
        audit_count(&app).await,
        0,
        "refused reviews are not audited"
    );

    let rejected = app
        .review(&admin, &id, "reject", Some("Describe the pricing"))
        .await;
    let rejected = rejected.expect(200).body;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["roles"], "consumer");
    assert_eq!(
        rejected["providerProfile"]["reviewReason"],
        "Describe the pricing"
    );
    let owned = view(&app, &owner, &id).await;
    assert_eq!(owned["providerProfile"]["status"], "rejected");
    assert_eq!(
        owned["providerProfile"]["reviewReason"],
        "Describe the pricing"
    );
    assert!(browse_slugs(&app, &owner.auth(), "").await.is_empty());

    let resubmitted = app.publish(&owner, &id, json!({})).await.expect(200).body;
    assert_eq!(resubmitted["status"], "pending_review");
    assert!(
        resubmitted["providerProfile"].get("reviewReason").is_none(),
        "the old reason is cleared: {resubmitted}"
    );
    app.review(&admin, &id, "approve", None).await.expect(200);
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "").await,
        vec!["rejectable".to_owned()]
    );
}

#[tokio::test]
async fn suspending_hides_the_agent_and_reinstating_brings_it_back() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let (owner, admin) = (&listed.provider, &listed.admin);
    let detail = format!("/api/marketplace/agents/{}", listed.slug);
    let total = |page: Value| page["total"].clone();
    let before = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(total(before), 1);

    // Act and assert: the reason is required.
    let no_reason = app.review(admin, &listed.id, "suspend", None).await;
    assert_field_error(&no_reason, "suspend without a reason", "reason");
    assert_eq!(
        stored_status(&app, &listed.id).await.as_deref(),
        Some("active")
    );

    let suspended = app
        .review(admin, &listed.id, "suspend", Some("Reported by users"))
        .await
        .expect(200)
        .body;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(
        suspended["providerProfile"]["reviewReason"],
        "Reported by users"
    );
    assert!(browse_slugs(&app, &owner.auth(), "").await.is_empty());
    let after = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(total(after), 0, "the total follows");
    app.get(&detail, &owner.auth())
        .await
        .expect_error(404, "NOT_FOUND");

    let republish = app.publish(owner, &listed.id, json!({})).await;
    assert_conflict_naming(&republish, "publish while suspended", "suspended");
    assert_eq!(
        stored_status(&app, &listed.id).await.as_deref(),
        Some("suspended")
    );

    let reinstated = app
        .review(admin, &listed.id, "reinstate", None)
        .await
        .expect(200)
        .body;
    assert_eq!(reinstated["status"], "active");
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "").await,
        vec![listed.slug.clone()]
    );
    let shown = app.get(&detail, &owner.auth()).await.expect(200).body;
    assert_eq!(shown["id"], listed.id.as_str());
    assert_eq!(shown["priceAmount"], "5.00", "the terms survive suspension");
    let again = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(total(again), 1, "the total follows");
}

#[tokio::test]
async fn illegal_review_transitions_are_409_naming_the_status_and_write_no_audit() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let pending = app.create_agent(&owner, "pending", json!({})).await;
    app.publish(&owner, &pending, json!({})).await.expect(200);
    let active = app
        .listed_agent_with(&owner, &admin, "active", json!({}))
        .await;
    let rejected = app.create_agent(&owner, "rejected", json!({})).await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);
    let suspended = app
        .listed_agent_with(&owner, &admin, "suspended", json!({}))
        .await;
    app.review(&admin, &suspended, "suspend", Some("no"))
        .await
        .expect(200);
    let cases = [
        ("approve active", &active, "approve", "active"),
        ("reject active", &active, "reject", "active"),
        ("reinstate active", &active, "reinstate", "active"),
        ("suspend pending", &pending, "suspend", "pending_review"),
        ("reinstate pending", &pending, "reinstate", "pending_review"),
        ("approve rejected", &rejected, "approve", "rejected"),
        ("suspend rejected", &rejected, "suspend", "rejected"),
        ("approve suspended", &suspended, "approve", "suspended"),
        ("suspend suspended", &suspended, "suspend", "suspended"),
    ];
    let audited = audit_count(&app).await;

    for (why, id, action, status) in cases {
        // Act
        let reply = app.review(&admin, id, action, Some("a reason")).await;

        // Assert
        assert_conflict_naming(&reply, why, status);
        assert_eq!(
            reply.body["details"]["status"], status,
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            stored_status(&app, id).await.as_deref(),
            Some(status),
            "{why}: unchanged"
        );
        assert_eq!(audit_count(&app).await, audited, "{why}: no audit record");
    }
    let page = audit(&app, &admin, "").await;
    assert_eq!(page["total"], audited, "the audit API agrees");
}

#[tokio::test]
async fn reviewing_a_draft_or_unknown_agent_is_404() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let draft = app.create_agent(&owner, "draft-only", json!({})).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (why, id) in [("draft", &draft), ("unknown", &unknown)] {
        for action in ["approve", "reinstate"] {
            let reply = app.review(&admin, id, action, None).await;
            assert_eq!(reply.status.as_u16(), 404, "{why} {action}: {}", reply.text);
            assert_eq!(reply.body["error"], "NOT_FOUND", "{why} {action}");
        }
    }
    assert_eq!(stored_status(&app, &draft).await, None);
    assert_eq!(audit_count(&app).await, 0);
}

#[tokio::test]
async fn every_review_decision_writes_one_audit_record_shown_newest_first() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "audited", json!({})).await;
    let other = app.create_agent(&owner, "other", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.publish(&owner, &other, json!({})).await.expect(200);

    // Act
    app.review(&admin, &id, "approve", None).await.expect(200);
    app.review(&admin, &id, "suspend", Some("Spam"))
        .await
        .expect(200);
    app.review(&admin, &id, "reinstate", Some("Appeal accepted"))
        .await
        .expect(200);
    app.review(&admin, &other, "reject", Some("Too vague"))
        .await
        .expect(200);
    app.review(&admin, &id, "approve", None)
        .await
        .expect_error(409, "CONFLICT");

    // Assert
    let page = audit(&app, &admin, "").await;
    assert_eq!(
        page["total"], 4,
        "one record per successful decision: {page}"
    );
    let entries = page["data"].as_array().expect("data");
    let expected = [
        (
            "reject",
            &other,
            "pending_review",
            "rejected",
            Some("Too vague"),
        ),
        (
            "reinstate",
            &id,
            "suspended",
            "active",
            Some("Appeal accepted"),
        ),
        ("suspend", &id, "active", "suspended", Some("Spam")),
        ("approve", &id, "pending_review", "active", None),
    ];
    assert_eq!(entries.len(), expected.len());
    for (entry, (action, target, from, to, reason)) in entries.iter().zip(expected) {
        assert_eq!(entry["action"], action, "{entry}");
        assert_eq!(entry["actorId"], admin.id.as_str(), "{entry}");
        assert_eq!(entry["actorEmail"], admin.email.as_str(), "{entry}");
        assert_eq!(entry["targetType"], "provider_profile", "{entry}");
        assert_eq!(entry["targetId"], target.as_str(), "{entry}");
        assert_eq!(entry["fromStatus"], from, "{entry}");
        assert_eq!(entry["toStatus"], to, "{entry}");
        match reason {
            Some(reason) => assert_eq!(entry["reason"], reason, "{entry}"),
            None => assert!(entry.get("reason").is_none(), "{entry}"),
        }
        assert_timestamp(&entry["createdAt"], "createdAt");
    }
    let filtered = audit(&app, &admin, &format!("&targetId={id}")).await;
    assert_eq!(filtered["total"], 3);
    assert_eq!(
        strings(&filtered, "action"),
        vec!["reinstate", "suspend", "approve"]
    );
    let paged = app
        .get("/api/admin/audit?page=2&limit=3", &admin.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(strings(&paged, "action"), vec!["approve"]);
    let invalid = app
        .get("/api/admin/audit?targetId=nope", &admin.auth())
        .await;
    invalid.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn the_review_queue_filters_by_status() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let pending = app.create_agent(&owner, "queued", json!({})).await;
    app.publish(&owner, &pending, json!({})).await.expect(200);
    let active = app
        .listed_agent_with(&owner, &admin, "live", json!({}))
        .await;
    let rejected = app.create_agent(&owner, "refused", json!({})).await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);
    app.create_agent(&owner, "just-a-draft", json!({})).await;
    let queue = |query: &'static str| {
        let path = format!("/api/admin/providers{query}");
        let auth = admin.auth();
        let app = &app;
        async move { app.get(&path, &auth).await }
    };

    // Act
    let only_pending = queue("?status=pending_review").await.expect(200).body;
    let only_active = queue("?status=active").await.expect(200).body;
    let everything = queue("").await.expect(200).body;
    let invalid = queue("?status=approved").await;

    // Assert
    assert_eq!(strings(&only_pending, "agentId"), vec![pending.clone()]);
    assert_eq!(only_pending["total"], 1);
    let item = &only_pending["data"][0];
    assert_eq!(item["agentSlug"], "queued");
    assert_eq!(item["agentName"], "Agent queued");
    assert_eq!(item["ownerId"], owner.id.as_str());
    assert_eq!(item["ownerEmail"], owner.email.as_str());
    assert_eq!(item["profile"]["status"], "pending_review");
    assert_eq!(strings(&only_active, "agentId"), vec![active.clone()]);
    assert_eq!(everything["total"], 3, "drafts have no profile to review");
    let mut all = strings(&everything, "agentId");
    all.sort();
    let mut expected = vec![pending, active, rejected];
    expected.sort();
    assert_eq!(all, expected);
    assert_field_error(&invalid, "unknown status", "status");
}

// ---------------------------------------------------------------------------------------------
// Agent tokens
// ---------------------------------------------------------------------------------------------

const PREFIX: &str = "agt_clawrent_";

#[tokio::test]
async fn issuing_an_agent_token_shows_it_once_and_stores_only_its_hash() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "tokened", json!({})).await;

    // Act
    let reply = app
        .post_empty(&action_path(&id, "token"), &owner.auth())
        .await;

    // Assert
    let body = reply.expect(201).body;
    assert_eq!(body["agentId"], id.as_str());
    let token = body["token"].as_str().expect("token");
    assert!(token.starts_with(PREFIX), "{token}");
    let secret = &token[PREFIX.len()..];
    assert!(
        secret.len() >= 32,
        "at least 32 characters after the prefix: {token}"
    );
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    assert_timestamp(&body["createdAt"], "createdAt");
    assert!(
        body["warning"].as_str().is_some_and(|w| !w.is_empty()),
        "{body}"
    );
    let shown = app.get(&agent_path(&id), &owner.auth()).await.expect(200);
    assert_eq!(shown.body["hasAgentToken"], true);
    assert!(
        !shown.text.contains(token),
        "the view never shows the token"
    );
    let listed = app.get("/api/agents/my", &owner.auth()).await.expect(200);
    assert!(
        !listed.text.contains(token),
        "the list never shows the token"
    );
    let (hash, prefix): (Vec<u8>, String) =
        sqlx::query_as("SELECT token_hash, token_prefix FROM agents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_ne!(hash, token.as_bytes(), "not stored in clear");
    assert!(
        !String::from_utf8_lossy(&hash).contains(secret),
        "the hash does not contain the token"
    );
    assert!(token.starts_with(&prefix), "{prefix}");
    assert!(
        prefix.len() < PREFIX.len() + 8,
        "only a short prefix is kept: {prefix}"
    );
    let in_clear: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents WHERE token_prefix = $1 OR encode(token_hash, 'escape') = $1 OR encode(token_hash, 'hex') = $1",
    )
    .bind(token)
    .fetch_one(&app.db)
    .await
    .expect("query");
    assert_eq!(in_clear, 0);
}

#[tokio::test]
async fn a_second_token_revokes_the_first() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "rotated", json!({})).await;
    let first = app.agent_token(&owner, &id).await;

    // Act
    let second = app.agent_token(&owner, &id).await;

    // Assert
    assert_ne!(first, second);
    app.get("/api/agents/me/agent", &Auth::bearer(&first))
        .await
        .expect_error(401, "INVALID_TOKEN");
    let me = app
        .get("/api/agents/me/agent", &Auth::bearer(&second))
        .await
        .expect(200)
        .body;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(
        view(&app, &owner, &id).await["agentTokenPrefix"],
        &second[..PREFIX.len() + 4]
    );
}

#[tokio::test]
async fn revoking_a_token_answers_json_and_is_idempotent() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "revoked", json!({})).await;
    let token = app.agent_token(&owner, &id).await;
    let never = app.create_agent(&owner, "never-tokened", json!({})).await;

    // Act
    let first = app.delete(&action_path(&id, "token"), &owner.auth()).await;
    let second = app.delete(&action_path(&id, "token"), &owner.auth()).await;
    let without = app
        .delete(&action_path(&never, "token"), &owner.auth())
        .await;

    // Assert
    let first = first.expect(200).body;
    assert_eq!(first["success"], true);
    assert_eq!(first["revoked"], true);
    assert_eq!(first["agentId"], id.as_str());
    let second = second.expect(200).body;
    assert_eq!(second["success"], true);
    assert_eq!(second["revoked"], false);
    assert_eq!(without.expect(200).body["revoked"], false);
    app.get("/api/agents/me/agent", &Auth::bearer(&token))
        .await
        .expect_error(401, "INVALID_TOKEN");
    let shown = view(&app, &owner, &id).await;
    assert_eq!(shown["hasAgentToken"], false);
    assert!(shown.get("agentTokenPrefix").is_none(), "{shown}");
    let hash: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM agents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(hash, None);
}

// ---------------------------------------------------------------------------------------------
// The agent token as a credential
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn me_agent_answers_the_agent_of_an_agent_token_and_401_for_other_credentials() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "whoami", json!({})).await;
    let token = app.agent_token(&owner, &id).await;

    // Act
    let reply = app.get("/api/agents/me/agent", &Auth::bearer(&token)).await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["agentId"], id.as_str());
    assert_eq!(body["name"], "Agent whoami");
    assert_eq!(body["slug"], "whoami");
    assert_eq!(body["status"], "draft");
    assert_eq!(body["serveHosting"], "self");
    let cases = [
        ("JWT", owner.auth(), "INVALID_TOKEN"),
        ("API key", Auth::api_key(&owner.api_key), "INVALID_TOKEN"),
        (
            "unknown agent token",
            Auth::bearer(&format!("{PREFIX}{}", "x".repeat(40))),
            "INVALID_TOKEN",
        ),
        ("nothing", Auth::none(), "UNAUTHORIZED"),
    ];
    for (why, auth, code) in cases {
        let reply = app.get("/api/agents/me/agent", &auth).await;
        assert_eq!(reply.status.as_u16(), 401, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}");
        assert!(reply.body.get("slug").is_none(), "{why}: {}", reply.text);
    }
}

#[tokio::test]
async fn an_agent_token_acts_as_its_owner() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let id = app.create_agent(owner, "second-agent", json!({})).await;
    let token = app.agent_token(owner, &id).await;
    let agent = Auth::bearer(&token);

    // Act
    let me = app.me(&agent).await;
    let mine = app.get("/api/agents/my", &agent).await;
    let browse = app.get("/api/marketplace/browse", &agent).await;
    let published = app.post_empty(&action_path(&id, "publish"), &agent).await;

    // Assert
    let me = me.expect(200).body;
    assert_eq!(me["id"], owner.id.as_str());
    assert_eq!(me["email"], owner.email.as_str());
    let mine = mine.expect(200).body;
    let mut ids = strings(&mine, "id");
    ids.sort();
    let mut expected = vec![listed.id.clone(), id.clone()];
    expected.sort();
    assert_eq!(ids, expected, "all of the owner's agents");
    assert_eq!(
        strings(&browse.expect(200).body, "slug"),
        vec![listed.slug.clone()]
    );
    assert_eq!(published.expect(200).body["status"], "pending_review");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
}

#[tokio::test]
async fn an_agent_token_is_401_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tenant = app.create_tenant("other").await;
    let id = app.create_agent(&owner, "home-only", json!({})).await;
    let token = app.agent_token(&owner, &id).await;
    let abroad = Auth::bearer(&token).tenant(&tenant);

    // Act
    let me_agent = app.get("/api/agents/me/agent", &abroad).await;
    let me = app.me(&abroad).await;
    let mine = app.get("/api/agents/my", &abroad).await;

    // Assert
    me_agent.expect_error(401, "INVALID_TOKEN");
    me.expect_error(401, "INVALID_TOKEN");
    mine.expect_error(401, "INVALID_TOKEN");
    app.get("/api/agents/me/agent", &Auth::bearer(&token))
        .await
        .expect(200);
}

// ---------------------------------------------------------------------------------------------
// Activation and online status
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn activation_needs_an_active_profile_and_a_live_connection() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_id("default").await;
    let id = app.create_agent(&owner, "activated", json!({})).await;
    let activate = action_path(&id, "activate");

    // Act and assert: a draft cannot be activated.
    let draft = app.post_empty(&activate, &owner.auth()).await;
    draft.expect_error(400, "VALIDATION_ERROR");

    // Pending, even when connected.
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.set_connected(tenant, &id, true).await;
    let pending = app.post_empty(&activate, &owner.auth()).await;
    let pending = pending.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        pending.body["message"],
        "Provider profile status is 'pending_review'"
    );
    app.set_connected(tenant, &id, false).await;

    // Active but not connected.
    app.review(&admin, &id, "approve", None).await.expect(200);
    let offline = app.post_empty(&activate, &owner.auth()).await;
    let offline = offline.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        offline.body["message"],
        "Agent is not connected via WebSocket"
    );
    assert_eq!(stored_online_status(&app, &id).await, "offline");
    assert!(
        browse_slugs(&app, &owner.auth(), "&online=true")
            .await
            .is_empty(),
        "not online yet"
    );

    // Active and connected.
    app.set_connected(tenant, &id, true).await;
    let online = app.post_empty(&activate, &owner.auth()).await;
    let online = online.expect(200).body;
    assert_eq!(online["onlineStatus"], "online");
    assert_eq!(online["status"], "active");
    assert_eq!(stored_online_status(&app, &id).await, "online");
    let detail = app
        .get("/api/marketplace/agents/activated", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(detail["online"], true);
    assert_eq!(detail["onlineStatus"], "online");
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "&online=true").await,
        vec!["activated".to_owned()]
    );
    assert!(
        browse_slugs(&app, &owner.auth(), "&online=false")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_suspended_agent_cannot_be_activated_even_when_connected() {
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let tenant = app.tenant_id("default").await;
    app.review(&listed.admin, &listed.id, "suspend", Some("paused"))
        .await
        .expect(200);
    app.set_connected(tenant, &listed.id, true).await;

    let reply = app
        .post_empty(
            &action_path(&listed.id, "activate"),
            &listed.provider.auth(),
        )
        .await;

    let reply = reply.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        reply.body["message"],
        "Provider profile status is 'suspended'"
    );
    assert_eq!(stored_online_status(&app, &listed.id).await, "offline");
}

#[tokio::test]
async fn online_status_moves_between_busy_online_and_offline() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let tenant = app.tenant_id("default").await;
    let status = action_path(&listed.id, "status");
    let detail = format!("/api/marketplace/agents/{}", listed.slug);
    let set = |value: Value| {
        let path = status.clone();
        let auth = owner.auth();
        let app = &app;
        async move {
            app.patch(&path, &auth, &json!({ "onlineStatus": value }))
                .await
        }
    };
    app.set_connected(tenant, &listed.id, true).await;

    // Act and assert: busy and back while connected.
    let busy = set(json!("busy")).await.expect(200).body;
    assert_eq!(busy["onlineStatus"], "busy");
    let shown = app.get(&detail, &owner.auth()).await.expect(200).body;
    assert_eq!(shown["onlineStatus"], "busy");
    assert_eq!(shown["online"], true, "busy agents are connected");
    let online = set(json!("online")).await.expect(200).body;
    assert_eq!(online["onlineStatus"], "online");

    // Without a connection only offline is allowed.
    app.set_connected(tenant, &listed.id, false).await;
    let refused = set(json!("busy")).await;
    let refused = refused.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        refused.body["message"],
        "Agent is not connected via WebSocket"
    );
    assert_eq!(
        stored_online_status(&app, &listed.id).await,
        "online",
        "unchanged"
    );
    let offline = set(json!("offline")).await.expect(200).body;
    assert_eq!(offline["onlineStatus"], "offline");
    let shown = app.get(&detail, &owner.auth()).await.expect(200).body;
    assert_eq!(shown["online"], false);

    // Unknown values.
    for (why, value) in [
        ("sleeping", json!("sleeping")),
        ("uppercase", json!("ONLINE")),
        ("empty", json!("")),
        ("a number", json!(1)),
    ] {
        let reply = set(value).await;
        assert_field_error(&reply, why, "onlineStatus");
    }
    let missing = app.patch(&status, &owner.auth(), &json!({})).await;
    missing.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(stored_online_status(&app, &listed.id).await, "offline");
}

#[tokio::test]
async fn a_draft_agent_can_always_be_set_offline() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "offline-draft", json!({})).await;

    let offline = app
        .patch(
            &action_path(&id, "status"),
            &owner.auth(),
            &json!({ "onlineStatus": "offline" }),
        )
        .await;
    let online = app
        .patch(
            &action_path(&id, "status"),
            &owner.auth(),
            &json!({ "onlineStatus": "online" }),
        )
        .await;

    assert_eq!(offline.expect(200).body["onlineStatus"], "offline");
    online.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(stored_online_status(&app, &id).await, "offline");
}

// ---------------------------------------------------------------------------------------------
// Re-review and concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn republishing_an_active_agent_puts_it_back_in_review_and_out_of_the_marketplace() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;

    // Act
    let reply = app
        .publish(owner, &listed.id, json!({ "priceAmount": "9.00" }))
        .await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    assert_eq!(body["providerProfile"]["priceAmount"], "9.00");
    assert!(browse_slugs(&app, &owner.auth(), "").await.is_empty());
    let page = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(page["total"], 0);
    app.review(&listed.admin, &listed.id, "approve", None)
        .await
        .expect(200);
    let detail = app
        .get(
            &format!("/api/marketplace/agents/{}", listed.slug),
            &owner.auth(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(detail["priceAmount"], "9.00", "the new terms are listed");
}

#[tokio::test]
async fn edits_made_after_rejection_reach_the_marketplace_on_approval() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "improved", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.review(&admin, &id, "reject", Some("Say what it does"))
        .await
        .expect(200);

    // Act
    app.patch(
        &agent_path(&id),
        &owner.auth(),
        &json!({ "name": "Improved agent", "description": "Now it says exactly what it does" }),
    )
    .await
    .expect(200);
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.review(&admin, &id, "approve", None).await.expect(200);

    // Assert
    let detail = app
        .get("/api/marketplace/agents/improved", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(detail["name"], "Improved agent");
    assert_eq!(detail["description"], "Now it says exactly what it does");
}

#[tokio::test]
async fn activating_twice_is_idempotent_and_a_busy_agent_stays_busy() {
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let tenant = app.tenant_id("default").await;
    app.set_connected(tenant, &listed.id, true).await;
    let activate = action_path(&listed.id, "activate");

    let first = app
        .post_empty(&activate, &owner.auth())
        .await
        .expect(200)
        .body;
    let second = app
        .post_empty(&activate, &owner.auth())
        .await
        .expect(200)
        .body;
    app.patch(
        &action_path(&listed.id, "status"),
        &owner.auth(),
        &json!({ "onlineStatus": "busy" }),
    )
    .await
    .expect(200);
    let while_busy = app
        .post_empty(&activate, &owner.auth())
        .await
        .expect(200)
        .body;

    assert_eq!(first["onlineStatus"], "online");
    assert_eq!(second["onlineStatus"], "online");
    assert_eq!(while_busy["onlineStatus"], "busy");
    assert_eq!(stored_online_status(&app, &listed.id).await, "busy");
}

#[tokio::test]
async fn concurrent_approvals_of_one_profile_apply_once_and_audit_once() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "raced", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);

    // Act
    let replies =
        futures_util::future::join_all((0..6).map(|_| app.review(&admin, &id, "approve", None)))
            .await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(audit_count(&app).await, 1);
    let page = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(page["total"], 1, "the listing is counted once");
    assert_eq!(strings(&page, "slug"), vec!["raced".to_owned()]);
}

#[tokio::test]
async fn concurrent_registrations_of_one_slug_create_one_agent() {
    // Arrange
    let app = spawn_app().await;
    let owners = [app.signup().await, app.signup().await];
    let body = agent_body("contested");
    let auths: Vec<Auth> = (0..6).map(|i| owners[i % 2].auth()).collect();

    // Act
    let replies =
        futures_util::future::join_all(auths.iter().map(|auth| app.post(AGENTS, auth, &body)))
            .await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        replies
            .iter()
            .filter(|r| r.status.as_u16() != 201)
            .all(|r| r.status.as_u16() == 409 && r.body["error"] == "CONFLICT"),
        "the others are 409 CONFLICT: {statuses:?}"
    );
    assert_eq!(agent_count(&app).await, 1);
}

#[tokio::test]
async fn concurrent_token_issues_leave_exactly_one_working_token() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "token-race", json!({})).await;
    let path = action_path(&id, "token");
    let auths: Vec<Auth> = (0..5).map(|_| owner.auth()).collect();

    // Act
    let replies =
        futures_util::future::join_all(auths.iter().map(|auth| app.post_empty(&path, auth))).await;

    // Assert
    let mut working = 0;
    for reply in replies {
        let token = reply.expect(201).body["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let me = app.get("/api/agents/me/agent", &Auth::bearer(&token)).await;
        match me.status.as_u16() {
            200 => working += 1,
            401 => {}
            other => panic!("unexpected {other}: {}", me.text),
        }
    }
    assert_eq!(working, 1, "only the last token issued works");
}

#[tokio::test]
async fn a_review_reason_longer_than_1000_characters_is_400() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "long-reason", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);

    let reply = app
        .review(&admin, &id, "reject", Some(&"r".repeat(1001)))
        .await;

    assert_field_error(&reply, "1001-character reason", "reason");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
    assert_eq!(audit_count(&app).await, 0);
}

#[tokio::test]
async fn duplicate_permissions_are_stored_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let body = with_field(
        &agent_body("dedup"),
        "requiredPermissions",
        json!(["system.exec", "fs:read", "system.exec"]),
    );

    let reply = app.post(AGENTS, &owner.auth(), &body).await;

    let created = reply.expect(201).body;
    assert_eq!(
        created["requiredPermissions"],
        json!(["system.exec", "fs:read"])
    );
}

#[tokio::test]
async fn only_active_agents_are_in_the_marketplace() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    app.create_agent(&owner, "state-draft", json!({})).await;
    let pending = app.create_agent(&owner, "state-pending", json!({})).await;
    app.publish(&owner, &pending, json!({})).await.expect(200);
    let rejected = app.create_agent(&owner, "state-rejected", json!({})).await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);
    let suspended = app
        .listed_agent_with(&owner, &admin, "state-suspended", json!({}))
        .await;
    app.review(&admin, &suspended, "suspend", Some("no"))
        .await
        .expect(200);
    let active = app
        .listed_agent_with(&owner, &admin, "state-active", json!({}))
        .await;
    let cases = [
        ("draft", "state-draft", 404),
        ("pending", "state-pending", 404),
        ("rejected", "state-rejected", 404),
        ("suspended", "state-suspended", 404),
        ("active", "state-active", 200),
    ];

    for (why, slug, status) in cases {
        // Act
        let reply = app
            .get(&format!("/api/marketplace/agents/{slug}"), &owner.auth())
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
    }
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "").await,
        vec!["state-active".to_owned()]
    );
    let page = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["id"], active.as_str());
}

#[tokio::test]
async fn malformed_bodies_are_refused_before_anything_changes() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "bodies", json!({})).await;
    let send =
        |path: String, auth: Auth, content_type: Option<&'static str>, body: &'static str| {
            let app = &app;
            async move {
                // Every endpoint here takes POST, except the status change.
                let method = if path.ends_with("/status") {
                    reqwest::Method::PATCH
                } else {
                    reqwest::Method::POST
                };
                let mut request = app.request(method, &path, &auth);
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                read(request.body(body).send().await.expect("request")).await
            }
        };
    let json_type = Some("application/json");
    let cases = [
        (
            "create: broken JSON",
            AGENTS.to_owned(),
            owner.auth(),
            json_type,
            "{",
            400,
            "INVALID_JSON",
        ),
        (
            "create: no body",
            AGENTS.to_owned(),
            owner.auth(),
            json_type,
            "",
            400,
            "INVALID_JSON",
        ),
        (
            "create: text/plain",
            AGENTS.to_owned(),
            owner.auth(),
            Some("text/plain"),
            "{}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "publish: broken JSON",
            action_path(&id, "publish"),
            owner.auth(),
            json_type,
            "{\"priceAmount\":",
            400,
            "INVALID_JSON",
        ),
        (
            "publish: text/plain",
            action_path(&id, "publish"),
            owner.auth(),
            Some("text/plain"),
            "{}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "publish: a JSON array",
            action_path(&id, "publish"),
            owner.auth(),
            json_type,
            "[]",
            400,
            "VALIDATION_ERROR",
        ),
        (
            "status: broken JSON",
            action_path(&id, "status"),
            owner.auth(),
            json_type,
            "{",
            400,
            "INVALID_JSON",
        ),
    ];

    for (why, path, auth, content_type, body, status, code) in cases {
        // Act
        let reply = send(path, auth, content_type, body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}: {}", reply.text);
    }
    assert_eq!(agent_count(&app).await, 1, "nothing was created");
    assert_eq!(
        stored_status(&app, &id).await,
        None,
        "nothing was published"
    );

    // A Content-Type without a body is still a bodyless publish.
    let reply = send(action_path(&id, "publish"), owner.auth(), json_type, "").await;
    assert_eq!(reply.expect(200).body["status"], "pending_review");
    let reject = format!("/api/admin/providers/{id}/reject");
    let refused = send(reject, admin.auth(), Some("text/plain"), "reason=no").await;
    refused.expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
    assert_eq!(audit_count(&app).await, 0);
}

#[tokio::test]
async fn approving_or_reinstating_with_a_note_keeps_the_last_rejection_reason() {
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let id = app
        .create_agent(&provider, &unique_slug("reason"), serde_json::json!({}))
        .await;
    app.publish(&provider, &id, serde_json::json!({}))
        .await
        .expect(200);
    app.review(&admin, &id, "reject", Some("missing docs"))
        .await
        .expect(200);
    app.publish(&provider, &id, serde_json::json!({}))
        .await
        .expect(200);
    let approved = app
        .review(&admin, &id, "approve", Some("looks good now"))
        .await
        .expect(200);
    assert!(
        approved.body["providerProfile"]
            .get("reviewReason")
            .is_none(),
        "{}",
        approved.text
    );
    app.review(&admin, &id, "suspend", Some("abuse report"))
        .await
        .expect(200);
    let reinstated = app
        .review(&admin, &id, "reinstate", Some("resolved"))
        .await
        .expect(200);
    assert!(
        reinstated.body["providerProfile"]
            .get("reviewReason")
            .is_none(),
        "{}",
        reinstated.text
    );
    let audit = app
        .get(&format!("/api/admin/audit?targetId={id}"), &admin.auth())
        .await
        .expect(200);
    let reasons: Vec<&str> = audit.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        ["resolved", "abuse report", "looks good now", "missing docs"],
        "every reason is audited"
    );
}
