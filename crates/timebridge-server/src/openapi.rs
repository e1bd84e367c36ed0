//! The OpenAPI document (`/api/openapi.json`) and the Swagger UI (`/api/docs`, vendored,
//! works offline). Operations come from the route table in [`crate::routes`]; this module
//! adds the document's frame: info, the error schema and the security schemes.

use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::session::COOKIE_NAME;
use crate::error::ErrorResponse;
use crate::routes::{RouteGroup, document};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "timebridge API",
        description = "Syncs and reconciles time entries between Zammad and Kimai. \
            Errors use the shape `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        license(name = "MIT"),
    ),
    components(schemas(ErrorResponse)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Login and sessions"),
        (name = "connectors", description = "Configured connector instances"),
        (name = "pipelines", description = "Source → target pipelines"),
        (name = "mappings", description = "Source → target key mappings"),
        (name = "audit", description = "The append-only audit trail"),
        (name = "reports", description = "Reports (money at risk)"),
        (name = "settings", description = "Runtime settings"),
        (name = "operations", description = "Health"),
    )
)]
struct ApiFrame;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The `access_token` returned by POST /api/auth/login."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE_NAME,
                "The session cookie set by POST /api/auth/login.",
            ))),
        );
    }
}

/// The complete document for `routes`.
pub fn openapi(routes: &[RouteGroup]) -> Document {
    let mut doc = document(routes, ApiFrame::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
