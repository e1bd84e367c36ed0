//! The API route table. Each route is declared once, by its handler in utoipa-axum's
//! `routes!`: the handler joins the router and its `#[utoipa::path]` operation the OpenAPI
//! document, so no route can be served undocumented (or documented unserved). Routes are
//! grouped by module and by who may call them: the group decides whether a session is
//! needed (the router's layer and the document's security requirement) and qualifies the
//! operation ids with the module (handlers of different modules share names).

pub mod audit;
pub mod auth;
pub mod conflict_groups;
pub mod conflicts;
pub mod connectors;
pub mod gdpr;
pub mod health;
pub mod mappings;
pub mod oauth;
pub mod pipelines;
pub mod reports;
pub mod rule_simulator;
pub mod settings;
pub mod sync;
pub mod undo;
pub mod webhooks;

use axum::Router;
use axum::middleware::from_fn_with_state;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (login, health; webhooks authenticate by signature).
    Public,
    /// A valid admin session (bearer token or cookie) is required.
    Admin,
}

/// The routes of one module that share one access level.
#[derive(Clone)]
pub struct RouteGroup {
    /// The module (`connectors`), which qualifies the operation ids (`connectors_list`).
    pub module: &'static str,
    pub access: Access,
    routes: OpenApiRouter<AppState>,
}

impl std::fmt::Debug for RouteGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteGroup")
            .field("module", &self.module)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// One served operation: method, path and who may call it.
#[derive(Clone)]
pub struct RouteInfo {
    pub method: HttpMethod,
    /// The path in OpenAPI / axum syntax (`/api/connectors/{id}`).
    pub path: String,
    pub access: Access,
}

impl std::fmt::Debug for RouteInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({:?})",
            self.method_name(),
            self.path,
            self.access
        )
    }
}

impl RouteInfo {
    /// The method in upper case, e.g. `GET`.
    pub fn method_name(&self) -> &'static str {
        match self.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Trace => "TRACE",
        }
    }
}

/// A group of `module`'s handlers (one `routes!` per path) with the given access.
macro_rules! group {
    ($access:ident, $module:literal, $($path:path),+ $(,)?) => {
        RouteGroup {
            module: $module,
            access: Access::$access,
            routes: OpenApiRouter::new()$(.routes(routes!($path)))+,
        }
    };
}

/// Every API route, by module and access. Add new routes here and they are served and
/// documented at once.
pub fn api_routes() -> Vec<RouteGroup> {
    vec![
        group!(
            Public,
            "health",
            health::health,
            health::live,
            health::ready
        ),
        group!(Public, "auth", auth::login),
        group!(Admin, "auth", auth::logout, auth::me),
        group!(
            Admin,
            "connectors",
            connectors::kinds,
            connectors::list,
            connectors::create,
            connectors::get,
            connectors::update,
            connectors::delete,
            connectors::test,
            connectors::catalog,
        ),
        group!(Admin, "oauth", oauth::start),
        group!(Public, "oauth", oauth::callback),
        group!(
            Admin,
            "pipelines",
            pipelines::list,
            pipelines::create,
            pipelines::get,
            pipelines::update,
            pipelines::delete,
        ),
        group!(Admin, "rule_simulator", rule_simulator::simulate),
        group!(
            Admin,
            "mappings",
            mappings::list,
            mappings::create,
            mappings::get,
            mappings::update,
            mappings::delete,
        ),
        group!(
            Admin,
            "sync",
            sync::manual,
            sync::status,
            sync::history,
            sync::run
        ),
        group!(Admin, "undo", undo::undo),
        group!(
            Admin,
            "conflict_groups",
            conflict_groups::list,
            conflict_groups::suggestions,
            conflict_groups::preview,
            conflict_groups::apply,
            conflict_groups::resolve,
        ),
        group!(
            Admin,
            "conflicts",
            conflicts::drift,
            conflicts::list,
            conflicts::get,
            conflicts::resolve,
        ),
        group!(
            Public,
            "webhooks",
            webhooks::for_kind,
            webhooks::for_connector
        ),
        group!(Public, "metrics", crate::metrics::metrics),
        group!(Admin, "gdpr", gdpr::export, gdpr::purge),
        group!(Admin, "audit", audit::list, audit::export),
        group!(Admin, "reports", reports::money_at_risk),
        group!(Admin, "settings", settings::get, settings::update),
    ]
}

/// Every served operation of `groups`.
pub fn route_table(groups: &[RouteGroup]) -> Vec<RouteInfo> {
    let mut out = Vec::new();
    for g in groups {
        for (path, item) in &g.routes.get_openapi().paths.paths {
            for (method, op) in [
                (HttpMethod::Get, &item.get),
                (HttpMethod::Post, &item.post),
                (HttpMethod::Put, &item.put),
                (HttpMethod::Delete, &item.delete),
                (HttpMethod::Patch, &item.patch),
            ] {
                if op.is_some() {
                    out.push(RouteInfo {
                        method,
                        path: path.clone(),
                        access: g.access,
                    });
                }
            }
        }
    }
    out
}

/// Builds the `/api` router from `groups`; admin routes get the session check.
pub fn router(groups: &[RouteGroup], state: &AppState) -> Router<AppState> {
    groups.iter().fold(Router::new(), |router, g| {
        let (routes, _) = g.routes.clone().split_for_parts();
        let routes = match g.access {
            Access::Public => routes,
            Access::Admin => routes.route_layer(from_fn_with_state(
                state.clone(),
                crate::auth::require_admin,
            )),
        };
        router.merge(routes)
    })
}

/// Adds every group's operations (with its security requirement and module-qualified
/// operation ids) and schemas to `doc`.
pub fn document(groups: &[RouteGroup], mut doc: OpenApi) -> OpenApi {
    for g in groups {
        let mut part = g.routes.get_openapi().clone();
        for item in part.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.operation_id = op.operation_id.take().map(|id| {
                    if id == g.module || id.starts_with(&format!("{}_", g.module)) {
                        id
                    } else {
                        format!("{}_{id}", g.module)
                    }
                });
                op.security = Some(match g.access {
                    Access::Public => vec![SecurityRequirement::default()],
                    Access::Admin => vec![
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("cookie", Vec::<String>::new()),
                    ],
                });
            }
        }
        // The frame's info and tags stay; the group's are the defaults of an empty router.
        part.info = doc.info.clone();
        part.tags = None;
        doc.merge(part);
    }
    doc
}
