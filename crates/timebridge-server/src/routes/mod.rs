//! The API route table. Each route is declared once, from its `#[utoipa::path]`
//! annotation: the same entry adds the handler to the router and the operation to the
//! OpenAPI document, so no route can be served undocumented (or documented unserved).
//! Whether a route needs a session is decided here too, and written into the document.

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
pub mod rule_simulator;
pub mod settings;
pub mod sync;
pub mod webhooks;

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use utoipa::__dev::SchemaReferences;
use utoipa::openapi::path::{HttpMethod, PathsBuilder};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, RefOr};

use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (login, health; webhooks authenticate by signature).
    Public,
    /// A valid admin session (bearer token or cookie) is required.
    Admin,
}

/// One API operation: method, path, access and handler.
pub struct ApiRoute {
    /// The HTTP method.
    pub method: HttpMethod,
    /// The path in OpenAPI / axum syntax (`/api/connectors/{id}`).
    pub path: String,
    /// Who may call it.
    pub access: Access,
    handler: MethodRouter<AppState>,
    /// The handler's name, utoipa's default operation id (`list`).
    handler_name: String,
    /// `{module}_{handler}` (e.g. `connectors_list`): handlers of different modules share
    /// names, operation ids must not.
    operation_id: String,
    document: fn(PathsBuilder) -> PathsBuilder,
    schemas: fn(&mut Vec<(String, RefOr<Schema>)>),
}

impl std::fmt::Debug for ApiRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRoute")
            .field("method", &self.method_name())
            .field("path", &self.path)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl ApiRoute {
    /// A route described by the utoipa path type `P` and served by `handler`.
    ///
    /// Panics if `P` declares other than exactly one method (a programming error caught by
    /// every test that builds the router).
    pub fn new<P, H, T>(access: Access, handler: H) -> Self
    where
        P: utoipa::Path + SchemaReferences,
        H: Handler<T, AppState>,
        T: 'static,
    {
        let methods = P::methods();
        assert_eq!(
            methods.len(),
            1,
            "{} must declare exactly one method",
            P::path()
        );
        let method = methods.into_iter().next().expect("one method");
        let filter = match method {
            HttpMethod::Get => MethodFilter::GET,
            HttpMethod::Post => MethodFilter::POST,
            HttpMethod::Put => MethodFilter::PUT,
            HttpMethod::Delete => MethodFilter::DELETE,
            HttpMethod::Patch => MethodFilter::PATCH,
            HttpMethod::Head => MethodFilter::HEAD,
            HttpMethod::Options => MethodFilter::OPTIONS,
            HttpMethod::Trace => MethodFilter::TRACE,
        };
        Self {
            method,
            path: P::path(),
            access,
            handler: on(filter, handler),
            handler_name: handler_name(std::any::type_name::<P>()).to_owned(),
            operation_id: qualified_operation_id(std::any::type_name::<P>()),
            document: |paths| paths.path_from::<P>(),
            schemas: P::schemas,
        }
    }

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

/// Every API route. Add new routes here (the lead's sync, conflicts, webhook, GDPR and
/// metrics routes included) and they are served and documented at once.
pub fn api_routes() -> Vec<ApiRoute> {
    use Access::{Admin, Public};
    vec![
        ApiRoute::new::<health::__path_health, _, _>(Public, health::health),
        ApiRoute::new::<health::__path_live, _, _>(Public, health::live),
        ApiRoute::new::<health::__path_ready, _, _>(Public, health::ready),
        ApiRoute::new::<auth::__path_login, _, _>(Public, auth::login),
        ApiRoute::new::<auth::__path_logout, _, _>(Admin, auth::logout),
        ApiRoute::new::<auth::__path_me, _, _>(Admin, auth::me),
        ApiRoute::new::<connectors::__path_kinds, _, _>(Admin, connectors::kinds),
        ApiRoute::new::<connectors::__path_list, _, _>(Admin, connectors::list),
        ApiRoute::new::<connectors::__path_create, _, _>(Admin, connectors::create),
        ApiRoute::new::<connectors::__path_get, _, _>(Admin, connectors::get),
        ApiRoute::new::<connectors::__path_update, _, _>(Admin, connectors::update),
        ApiRoute::new::<connectors::__path_delete, _, _>(Admin, connectors::delete),
        ApiRoute::new::<connectors::__path_test, _, _>(Admin, connectors::test),
        ApiRoute::new::<connectors::__path_catalog, _, _>(Admin, connectors::catalog),
        ApiRoute::new::<oauth::__path_start, _, _>(Admin, oauth::start),
        ApiRoute::new::<oauth::__path_callback, _, _>(Public, oauth::callback),
        ApiRoute::new::<pipelines::__path_list, _, _>(Admin, pipelines::list),
        ApiRoute::new::<pipelines::__path_create, _, _>(Admin, pipelines::create),
        ApiRoute::new::<pipelines::__path_get, _, _>(Admin, pipelines::get),
        ApiRoute::new::<pipelines::__path_update, _, _>(Admin, pipelines::update),
        ApiRoute::new::<pipelines::__path_delete, _, _>(Admin, pipelines::delete),
        ApiRoute::new::<rule_simulator::__path_simulate, _, _>(Admin, rule_simulator::simulate),
        ApiRoute::new::<mappings::__path_list, _, _>(Admin, mappings::list),
        ApiRoute::new::<mappings::__path_create, _, _>(Admin, mappings::create),
        ApiRoute::new::<mappings::__path_get, _, _>(Admin, mappings::get),
        ApiRoute::new::<mappings::__path_update, _, _>(Admin, mappings::update),
        ApiRoute::new::<mappings::__path_delete, _, _>(Admin, mappings::delete),
        ApiRoute::new::<sync::__path_manual, _, _>(Admin, sync::manual),
        ApiRoute::new::<sync::__path_status, _, _>(Admin, sync::status),
        ApiRoute::new::<sync::__path_history, _, _>(Admin, sync::history),
        ApiRoute::new::<sync::__path_run, _, _>(Admin, sync::run),
        ApiRoute::new::<conflict_groups::__path_list, _, _>(Admin, conflict_groups::list),
        ApiRoute::new::<conflict_groups::__path_suggestions, _, _>(
            Admin,
            conflict_groups::suggestions,
        ),
        ApiRoute::new::<conflict_groups::__path_preview, _, _>(Admin, conflict_groups::preview),
        ApiRoute::new::<conflict_groups::__path_apply, _, _>(Admin, conflict_groups::apply),
        ApiRoute::new::<conflict_groups::__path_resolve, _, _>(Admin, conflict_groups::resolve),
        ApiRoute::new::<conflicts::__path_drift, _, _>(Admin, conflicts::drift),
        ApiRoute::new::<conflicts::__path_list, _, _>(Admin, conflicts::list),
        ApiRoute::new::<conflicts::__path_get, _, _>(Admin, conflicts::get),
        ApiRoute::new::<conflicts::__path_resolve, _, _>(Admin, conflicts::resolve),
        ApiRoute::new::<webhooks::__path_for_kind, _, _>(Public, webhooks::for_kind),
        ApiRoute::new::<crate::metrics::__path_metrics, _, _>(Public, crate::metrics::metrics),
        ApiRoute::new::<webhooks::__path_for_connector, _, _>(Public, webhooks::for_connector),
        ApiRoute::new::<gdpr::__path_export, _, _>(Admin, gdpr::export),
        ApiRoute::new::<gdpr::__path_purge, _, _>(Admin, gdpr::purge),
        ApiRoute::new::<audit::__path_list, _, _>(Admin, audit::list),
        ApiRoute::new::<audit::__path_export, _, _>(Admin, audit::export),
        ApiRoute::new::<settings::__path_get, _, _>(Admin, settings::get),
        ApiRoute::new::<settings::__path_update, _, _>(Admin, settings::update),
    ]
}

/// Builds the `/api` router from `routes`; admin routes get the session check.
pub fn router(routes: &[ApiRoute], state: &AppState) -> Router<AppState> {
    routes.iter().fold(Router::new(), |router, route| {
        let handler = route.handler.clone();
        let handler = match route.access {
            Access::Public => handler,
            Access::Admin => handler.route_layer(from_fn_with_state(
                state.clone(),
                crate::auth::require_admin,
            )),
        };
        router.route(&route.path, handler)
    })
}

/// `timebridge_server::routes::connectors::__path_list` → `list`.
fn handler_name(path_type: &str) -> &str {
    let last = path_type.rsplit("::").next().unwrap_or(path_type);
    last.strip_prefix("__path_").unwrap_or(last)
}

/// `timebridge_server::routes::connectors::__path_list` → `connectors_list`.
fn qualified_operation_id(path_type: &str) -> String {
    let handler = handler_name(path_type);
    match path_type.rsplit("::").nth(1) {
        Some(module) if module != handler => format!("{module}_{handler}"),
        _ => handler.to_owned(),
    }
}

/// Adds every route's operation (with its security requirement) and schemas to `doc`.
/// Operation ids that a handler did not set itself become `{module}_{handler}`.
pub fn document(routes: &[ApiRoute], mut doc: OpenApi) -> OpenApi {
    let mut schemas = Vec::new();
    let mut paths = PathsBuilder::new();
    for route in routes {
        let mut one = (route.document)(PathsBuilder::new()).build();
        for item in one.paths.values_mut() {
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
                let default_id = op
                    .operation_id
                    .as_deref()
                    .is_none_or(|id| id == route.handler_name);
                if default_id {
                    op.operation_id = Some(route.operation_id.clone());
                }
                op.security = Some(match route.access {
                    Access::Public => vec![SecurityRequirement::default()],
                    Access::Admin => vec![
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("cookie", Vec::<String>::new()),
                    ],
                });
            }
        }
        for (path, item) in one.paths {
            paths = paths.path(path, item);
        }
        (route.schemas)(&mut schemas);
    }
    doc.paths.merge(paths.build());
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    doc
}
